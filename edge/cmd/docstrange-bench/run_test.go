package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunAgainstStub(t *testing.T) {
	pdf, err := os.ReadFile(filepath.Join("..", "..", "..", "scheduler", "extract", "testdata", "hello.pdf"))
	if err != nil {
		pdf = []byte("%PDF-1.4\n% stand-in\n%%EOF\n")
	}
	tests := []struct {
		name         string
		stub         stubConfig
		chainClients int // 4 shares the submit phase's baseline
		duration     string
		drain        string
		wantCode     int
		wantPass     bool
		wantFinished bool // every accepted job reaches a terminal state
	}{
		{
			name:         "server errors and failed jobs fail the run",
			stub:         stubConfig{rejectEvery: 10, failEvery: 7, jobTime: 20 * time.Millisecond},
			chainClients: 4,
			duration:     "1s",
			drain:        "10s",
			wantCode:     exitFail,
			wantFinished: true,
		},
		{
			name:         "a clean run passes",
			stub:         stubConfig{jobTime: 10 * time.Millisecond},
			chainClients: 4,
			duration:     "300ms",
			drain:        "10s",
			wantCode:     exitPass,
			wantPass:     true,
			wantFinished: true,
		},
		{
			name:         "jobs that never finish stay unfinished when the drain runs out",
			stub:         stubConfig{jobTime: -1},
			chainClients: 2,
			duration:     "200ms",
			drain:        "500ms",
			wantCode:     exitPass,
			wantPass:     true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := &stubEdge{stubConfig: tt.stub, file: pdf}
			srv := stub.start(t)
			dir := t.TempDir()
			file := filepath.Join(dir, "one-page.pdf")
			if err := os.WriteFile(file, pdf, 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out.json")
			var stdout, stderr bytes.Buffer
			// The chain's budget is wide: the stub's two routes cost the
			// same, and a loaded test machine must not fail the run.
			code := run(context.Background(), []string{
				"-url", srv.URL, "-clients", "4", "-duration", tt.duration, "-warmup", "100ms",
				"-drain", tt.drain, "-p99-target", "1s", "-file", file, "-json", out,
				"-header", "Authorization: Bearer " + stubKey,
				"-chain-clients", fmt.Sprint(tt.chainClients), "-chain-p99-added", "1s", "-chain-min-ratio", "0.01",
			}, &stdout, &stderr)
			t.Logf("output:\n%s", stdout.String())
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}

			var rep report
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &rep); err != nil {
				t.Fatalf("decoding %s: %v", out, err)
			}
			if rep.Verdict.Pass != tt.wantPass {
				t.Errorf("verdict pass = %v, want %v (%v)", rep.Verdict.Pass, tt.wantPass, rep.Verdict.Reasons)
			}
			if n := stub.badUploads.Load(); n != 0 {
				t.Errorf("the stub got %d uploads that were not the file", n)
			}
			b, s, j := rep.Baseline, rep.Submit, rep.Jobs
			if b == nil || s == nil || j == nil {
				t.Fatalf("report lacks a section: baseline %v, submit %v, jobs %v", b != nil, s != nil, j != nil)
			}
			if b.Count == 0 || b.Errors != 0 || b.RPS <= 0 {
				t.Errorf("baseline: count %d, errors %d, rps %g", b.Count, b.Errors, b.RPS)
			}
			if !(b.LatencyMS.P50 <= b.LatencyMS.P95 && b.LatencyMS.P95 <= b.LatencyMS.P99 && b.LatencyMS.P99 <= b.LatencyMS.Max) {
				t.Errorf("baseline percentiles out of order: %+v", b.LatencyMS)
			}
			if rep.Ratios.P99 == nil || rep.Ratios.Throughput == nil {
				t.Errorf("ratios missing: %+v", rep.Ratios)
			}
			checkChain(t, &rep, tt.chainClients, 4)
			if fb, pb := rep.Chain.FixedRate.Baseline, rep.Chain.Paired.Baseline; tt.chainClients == 4 {
				if got, want := stub.pings.Load(), int64(b.Count+b.WarmupCount+fb.Count+fb.WarmupCount+pb.Count+pb.WarmupCount); got != want {
					t.Errorf("the stub answered %d pings, the shared baseline, the fixed-rate and the paired ones counted %d: did the baseline run twice?", got, want)
				}
			}

			// Every 500 the stub sent is counted once, in the window or in
			// the warmup, under its API error code.
			rejected := int(stub.rejected.Load())
			if got := s.Errors + s.WarmupErrors; got != rejected {
				t.Errorf("submit errors %d + warmup errors %d = %d, stub rejected %d", s.Errors, s.WarmupErrors, got, rejected)
			}
			for _, k := range append(s.ErrorKinds, s.WarmupErrorKinds...) {
				if k.Kind != "HTTP 500 INTERNAL_ERROR" {
					t.Errorf("unexpected error kind %q (%d)", k.Kind, k.Count)
				}
			}
			if tt.stub.rejectEvery > 0 && s.Errors == 0 {
				t.Error("no submit error counted")
			}
			if got, want := s.Count+s.WarmupCount+s.Errors+s.WarmupErrors, int(stub.submits.Load()); got != want {
				t.Errorf("the bench completed %d submits, the stub saw %d", got, want)
			}

			if j.Tracked != int(stub.accepted.Load()) {
				t.Errorf("tracked %d jobs, the stub accepted %d", j.Tracked, stub.accepted.Load())
			}
			if j.FromWarmup == 0 {
				t.Error("no job tracked from the warmup")
			}
			if tt.wantFinished {
				if j.Unfinished != 0 || j.Lost != 0 || j.Succeeded+j.Failed != j.Tracked {
					t.Errorf("jobs: %+v", j)
				}
				if j.Failed != int(stub.failing.Load()) {
					t.Errorf("failed jobs %d, the stub failed %d", j.Failed, stub.failing.Load())
				}
				if j.JobsPerS <= 0 || j.LastFinishS == nil {
					t.Errorf("jobs/s %g, last finish %v", j.JobsPerS, j.LastFinishS)
				}
			} else if j.Unfinished != j.Tracked || len(rep.Verdict.Warnings) == 0 {
				t.Errorf("jobs: %+v, warnings %v", j, rep.Verdict.Warnings)
			}

			text := stdout.String()
			for _, want := range []string{"baseline", "chain-baseline", "submit/baseline", "share this machine", "chain: PASS", "verdict: "} {
				if !strings.Contains(text, want) {
					t.Errorf("output lacks %q", want)
				}
			}
		})
	}
}

// checkChain checks the chain section of a run whose chain passed.
func checkChain(t *testing.T, rep *report, chainClients, clients int) {
	t.Helper()
	c := rep.Chain
	if c == nil || c.Baseline == nil || c.Chain == nil {
		t.Fatalf("report lacks the chain comparison: %+v", c)
	}
	if c.Clients != chainClients || c.Baseline.Clients != chainClients || c.Chain.Clients != chainClients {
		t.Errorf("chain clients %d, its baseline %d, its chain %d; want %d", c.Clients, c.Baseline.Clients, c.Chain.Clients, chainClients)
	}
	if c.Identity == nil || c.Identity.Tier != "enterprise" || c.Identity.RateLimit != "1000000" {
		t.Errorf("identity %+v", c.Identity)
	}
	if c.Chain.Count == 0 || c.Chain.Errors != 0 || c.Chain.RPS <= 0 || c.Chain.Endpoint != "GET /api/v1/me" {
		t.Errorf("chain phase: %+v", c.Chain)
	}
	if c.AddedMS == nil || c.ThroughputRatio == nil || !c.Pass {
		t.Errorf("chain: added %+v, ratio %v, pass %v, reasons %v", c.AddedMS, c.ThroughputRatio, c.Pass, c.Reasons)
	}
	if c.P99AddedTargetMS != 1000 || c.MinThroughputRatio != 0.01 {
		t.Errorf("chain targets %gms, %g: the flags did not reach the report", c.P99AddedTargetMS, c.MinThroughputRatio)
	}
	// The fixed rate is half the saturated baseline's throughput, offered
	// to both routes from the same clients.
	if want := math.Round(0.5 * c.Baseline.RPS); c.OfferedRPS != want || c.RateFraction != 0.5 {
		t.Errorf("offered %g req/s at fraction %g; want %g at 0.5", c.OfferedRPS, c.RateFraction, want)
	}
	f := c.FixedRate
	if f == nil || f.Baseline == nil || f.Chain == nil || f.AddedMS == nil || f.ThroughputRatio == nil {
		t.Fatalf("report lacks the fixed-rate comparison: %+v", f)
	}
	for _, p := range []*phaseReport{f.Baseline, f.Chain} {
		if p.OfferedRPS != c.OfferedRPS || p.Clients != chainClients || p.Count == 0 || p.Errors != 0 {
			t.Errorf("fixed-rate phase %s: offered %g, clients %d, count %d, errors %d", p.Name, p.OfferedRPS, p.Clients, p.Count, p.Errors)
		}
	}
	if f.Baseline.Endpoint != "GET /api/v1/ping" || f.Chain.Endpoint != "GET /api/v1/me" {
		t.Errorf("fixed-rate endpoints %q, %q", f.Baseline.Endpoint, f.Chain.Endpoint)
	}
	if want := f.Chain.LatencyMS.P99 - f.Baseline.LatencyMS.P99; math.Abs(f.AddedMS.P99-want) > 1e-6 {
		t.Errorf("fixed-rate added p99 %g, chain p99 minus baseline p99 is %g", f.AddedMS.P99, want)
	}
	// Paired: both routes at once, each at half the rate from half the
	// clients, and the added p99 theirs.
	p := c.Paired
	if p == nil || p.Baseline == nil || p.Chain == nil || p.AddedMS == nil {
		t.Fatalf("report lacks the paired comparison: %+v", p)
	}
	for _, ph := range []*phaseReport{p.Baseline, p.Chain} {
		if ph.OfferedRPS != c.OfferedRPS/2 || ph.Count == 0 || ph.Errors != 0 {
			t.Errorf("paired phase %s: offered %g, count %d, errors %d", ph.Name, ph.OfferedRPS, ph.Count, ph.Errors)
		}
	}
	if n := p.Baseline.Clients + p.Chain.Clients; n != chainClients {
		t.Errorf("paired phases had %d clients in all, want %d", n, chainClients)
	}
	if p.Baseline.Endpoint != "GET /api/v1/ping" || p.Chain.Endpoint != "GET /api/v1/me" {
		t.Errorf("paired endpoints %q, %q", p.Baseline.Endpoint, p.Chain.Endpoint)
	}
	if want := p.Chain.LatencyMS.P99 - p.Baseline.LatencyMS.P99; math.Abs(p.AddedMS.P99-want) > 1e-6 {
		t.Errorf("paired added p99 %g, chain p99 minus baseline p99 is %g", p.AddedMS.P99, want)
	}
	if a := c.AddedMS; a != nil {
		if want := c.Chain.LatencyMS.P99 - c.Baseline.LatencyMS.P99; math.Abs(a.P99-want) > 1e-6 {
			t.Errorf("added p99 %g, chain p99 minus baseline p99 is %g", a.P99, want)
		}
	}
	if rep.Baseline.Clients != clients {
		t.Errorf("the submit phase's baseline ran %d clients, want %d", rep.Baseline.Clients, clients)
	}
	shared := chainClients == clients
	same := func(a, b *phaseReport) bool {
		return a.Name == b.Name && a.Clients == b.Clients && a.Count == b.Count && a.WarmupCount == b.WarmupCount && a.WindowS == b.WindowS
	}
	if got := same(c.Baseline, rep.Baseline); got != shared {
		t.Errorf("the chain's baseline is the submit's: %v, want %v", got, shared)
	}
	if want := "baseline@" + fmt.Sprint(chainClients); !shared && c.Baseline.Name != want {
		t.Errorf("the chain's own baseline is named %q, want %q", c.Baseline.Name, want)
	}
}

// TestChainSetupErrors covers the runs whose key cannot carry the chain's
// load: they stop with exit status 2 and say why, -no-fail or not.
func TestChainSetupErrors(t *testing.T) {
	tests := []struct {
		name       string
		stub       stubConfig
		args       []string
		wantCode   int
		wantStderr string
		wantReport bool // the run got as far as writing its results
		wantChain  bool
	}{
		{
			name:       "no key stops the run before any load",
			wantCode:   exitUsage,
			wantStderr: "HTTP 401 UNAUTHENTICATED: the API key is not valid",
		},
		{
			name:       "an anonymous caller stops the run before any load",
			stub:       stubConfig{anonymous: true},
			args:       []string{"-header", "Authorization: Bearer " + stubKey},
			wantCode:   exitUsage,
			wantStderr: "anonymous caller",
		},
		{
			name:       "a 429 stops the chain phase and the run",
			stub:       stubConfig{rateLimit: 20},
			args:       []string{"-header", "Authorization: Bearer " + stubKey, "-no-fail"},
			wantCode:   exitUsage,
			wantStderr: "the chain phase stopped at the first HTTP 429 RATE_LIMIT_EXCEEDED: the enterprise tier allows 20 requests per minute",
			wantReport: true,
			wantChain:  true,
		},
		{
			name:       "-chain-clients 0 skips the chain",
			args:       []string{"-chain-clients", "0"},
			wantCode:   exitPass,
			wantReport: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := &stubEdge{stubConfig: tt.stub, file: []byte("%PDF-1.4\n%%EOF\n")}
			stub.jobTime = time.Millisecond
			srv := stub.start(t)
			dir := t.TempDir()
			file := filepath.Join(dir, "one-page.pdf")
			if err := os.WriteFile(file, stub.file, 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out.json")
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{
				"-url", srv.URL, "-clients", "4", "-chain-clients", "4", "-duration", "300ms", "-warmup", "0s",
				"-drain", "5s", "-p99-target", "1s", "-file", file, "-json", out,
			}, tt.args...), &stdout, &stderr)
			t.Logf("output:\n%s", stdout.String())
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.wantStderr)
			}
			data, err := os.ReadFile(out)
			if !tt.wantReport {
				if err == nil {
					t.Error("results written for a run that should not have started")
				}
				if n := stub.pings.Load() + stub.submits.Load(); n != 0 {
					t.Errorf("%d requests of load before the setup was checked", n)
				}
				return
			}
			var rep report
			if err := json.Unmarshal(data, &rep); err != nil {
				t.Fatalf("decoding %s: %v", out, err)
			}
			if !tt.wantChain {
				if rep.Chain != nil || stub.mes.Load() != 0 {
					t.Errorf("chain %+v, %d GET /api/v1/me", rep.Chain, stub.mes.Load())
				}
				if rep.Submit == nil || !rep.Verdict.Pass {
					t.Errorf("submit %+v, verdict %+v", rep.Submit, rep.Verdict)
				}
				return
			}
			c := rep.Chain
			if c == nil || c.Chain == nil || c.Chain.Aborted == nil || c.Pass {
				t.Fatalf("chain %+v", c)
			}
			if k := c.Chain.Aborted.Kind; k != "HTTP 429 RATE_LIMIT_EXCEEDED" {
				t.Errorf("aborted by %q", k)
			}
			if rep.Verdict.Pass || !strings.Contains(strings.Join(rep.Verdict.Reasons, "; "), "chain: stopped at the first HTTP 429") {
				t.Errorf("verdict %+v", rep.Verdict)
			}
			if rep.Submit != nil || stub.submits.Load() != 0 {
				t.Errorf("the submit phase ran after the chain's setup error: %d submits", stub.submits.Load())
			}
			// The me requests that got through, the one 429 that stopped
			// the phase and any cut short by it: nothing else.
			if got := c.Chain.Count + c.Chain.WarmupCount; got > int(tt.stub.rateLimit) {
				t.Errorf("%d chain requests succeeded, the stub allowed %d", got, tt.stub.rateLimit)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "help", args: []string{"--help"}, wantCode: exitPass, wantStdout: "-chain-p99-added"},
		{name: "version", args: []string{"--version"}, wantCode: exitPass, wantStdout: "docstrange-bench "},
		{name: "file is required", args: []string{"-url", "http://127.0.0.1:1"}, wantCode: exitUsage, wantStderr: "-file is required"},
		{name: "clients must be positive", args: []string{"-clients", "0", "-file", "x.pdf"}, wantCode: exitUsage, wantStderr: "-clients 0"},
		{name: "unknown flag", args: []string{"-clinets", "3"}, wantCode: exitUsage, wantStderr: "flag provided but not defined"},
		{name: "bad url", args: []string{"-url", "127.0.0.1:8080", "-file", "x.pdf"}, wantCode: exitUsage, wantStderr: "must start with http://"},
		{name: "bad scheme", args: []string{"-url", "ftp://127.0.0.1:8080", "-file", "x.pdf"}, wantCode: exitUsage, wantStderr: "scheme must be http or https"},
		{name: "negative chain clients", args: []string{"-chain-clients", "-1", "-file", "x.pdf"}, wantCode: exitUsage, wantStderr: "-chain-clients -1"},
		{name: "negative chain budget", args: []string{"-chain-p99-added", "-1ms", "-file", "x.pdf"}, wantCode: exitUsage, wantStderr: "-chain-p99-added -1ms"},
		{name: "chain ratio above one", args: []string{"-chain-min-ratio", "1.5", "-file", "x.pdf"}, wantCode: exitUsage, wantStderr: "between 0 and 1"},
		{name: "chain ratio not a number", args: []string{"-chain-min-ratio", "NaN", "-file", "x.pdf"}, wantCode: exitUsage, wantStderr: "between 0 and 1"},
		{name: "negative chain rate", args: []string{"-chain-rate", "-5", "-file", "x.pdf"}, wantCode: exitUsage, wantStderr: "-chain-rate -5"},
		{name: "infinite chain rate", args: []string{"-chain-rate", "Inf", "-file", "x.pdf"}, wantCode: exitUsage, wantStderr: "-chain-rate +Inf"},
		{name: "zero chain rate fraction", args: []string{"-chain-rate-fraction", "0", "-file", "x.pdf"}, wantCode: exitUsage, wantStderr: "above 0 and at most 1"},
		{name: "chain rate fraction above one", args: []string{"-chain-rate-fraction", "1.5", "-file", "x.pdf"}, wantCode: exitUsage, wantStderr: "above 0 and at most 1"},
		{name: "bad header", args: []string{"-header", "nocolon", "-file", "x.pdf"}, wantCode: exitUsage, wantStderr: "Name: value"},
		{name: "missing file", args: []string{"-file", "/nonexistent/x.pdf"}, wantCode: exitUsage, wantStderr: "reading -file"},
		{name: "edge not ready", args: []string{"-url", "http://127.0.0.1:1", "-file", "stats.go", "-ready-timeout", "0"}, wantCode: exitUsage, wantStderr: "not ready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d; stderr: %s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}
