package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docstrange/mesh/api"
)

// stubEdge mimics the edge's API contract: the static ping, submits that
// answer 202 with a job id (or a 500 envelope every rejectEvery-th time),
// and jobs that finish after jobTime, failing every failEvery-th one. A
// jobTime below zero means jobs never finish.
type stubEdge struct {
	stubConfig
	file []byte

	submits    atomic.Int64
	rejected   atomic.Int64
	accepted   atomic.Int64
	failing    atomic.Int64
	badUploads atomic.Int64

	mu   sync.Mutex
	jobs map[string]stubJob
}

type stubConfig struct {
	rejectEvery int64
	failEvery   int64
	jobTime     time.Duration
}

type stubJob struct {
	created  time.Time
	finishAt time.Time // zero: never
	fail     bool
}

func (s *stubEdge) start(t *testing.T) *httptest.Server {
	s.jobs = map[string]stubJob{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/ping", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"pong":true}`)
	})
	mux.HandleFunc("GET /api/v1/health/ready", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"status":"ready"}`)
	})
	mux.HandleFunc("POST /api/v1/documents", s.submit)
	mux.HandleFunc("GET /api/v1/jobs/{id}", s.job)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func (s *stubEdge) submit(w http.ResponseWriter, r *http.Request) {
	n := s.submits.Add(1)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		s.badUploads.Add(1)
		api.WriteError(w, api.Errorf(http.StatusBadRequest, api.CodeInvalidRequest, "%v", err))
		return
	}
	f, _, err := r.FormFile("file")
	if err != nil {
		s.badUploads.Add(1)
		api.WriteError(w, api.Errorf(http.StatusBadRequest, api.CodeInvalidRequest, "%v", err))
		return
	}
	got, _ := io.ReadAll(f)
	if !bytes.Equal(got, s.file) {
		s.badUploads.Add(1)
	}
	if s.rejectEvery > 0 && n%s.rejectEvery == 0 {
		s.rejected.Add(1)
		api.WriteError(w, api.Errorf(http.StatusInternalServerError, api.CodeInternal, "stub failure %d", n))
		return
	}
	id := fmt.Sprintf("job_%d", n)
	j := stubJob{created: time.Now()}
	if s.jobTime >= 0 {
		j.finishAt = j.created.Add(s.jobTime)
	}
	if s.failEvery > 0 && s.accepted.Add(1)%s.failEvery == 0 {
		j.fail = true
		s.failing.Add(1)
	} else if s.failEvery == 0 {
		s.accepted.Add(1)
	}
	s.mu.Lock()
	s.jobs[id] = j
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(map[string]string{"job_id": id, "status": "queued"})
}

func (s *stubEdge) job(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	j, ok := s.jobs[id]
	s.mu.Unlock()
	if !ok {
		api.WriteError(w, api.Errorf(http.StatusNotFound, api.CodeJobNotFound, "no job %s", id))
		return
	}
	done := !j.finishAt.IsZero() && !time.Now().Before(j.finishAt)
	if wait, err := time.ParseDuration(r.URL.Query().Get("wait")); err == nil && !done {
		until := time.Now().Add(wait)
		if !j.finishAt.IsZero() && j.finishAt.Before(until) {
			until = j.finishAt
		}
		select {
		case <-time.After(time.Until(until)):
		case <-r.Context().Done():
			return
		}
		done = !j.finishAt.IsZero() && !time.Now().Before(j.finishAt)
	}
	out := api.Job{ID: id, JobID: id, Status: "running", CreatedAt: j.created}
	if done {
		out.Status, out.FinishedAt = "succeeded", j.finishAt
		if j.fail {
			out.Status = "failed"
			out.Error = &api.JobError{Code: api.CodeProcessingError, Message: "stub"}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func TestRunAgainstStub(t *testing.T) {
	pdf, err := os.ReadFile(filepath.Join("..", "..", "..", "scheduler", "extract", "testdata", "hello.pdf"))
	if err != nil {
		pdf = []byte("%PDF-1.4\n% stand-in\n%%EOF\n")
	}
	tests := []struct {
		name         string
		stub         stubConfig
		duration     string
		drain        string
		wantCode     int
		wantPass     bool
		wantFinished bool // every accepted job reaches a terminal state
	}{
		{
			name:         "server errors and failed jobs fail the run",
			stub:         stubConfig{rejectEvery: 10, failEvery: 7, jobTime: 20 * time.Millisecond},
			duration:     "1s",
			drain:        "10s",
			wantCode:     exitFail,
			wantFinished: true,
		},
		{
			name:         "a clean run passes",
			stub:         stubConfig{jobTime: 10 * time.Millisecond},
			duration:     "300ms",
			drain:        "10s",
			wantCode:     exitPass,
			wantPass:     true,
			wantFinished: true,
		},
		{
			name:     "jobs that never finish stay unfinished when the drain runs out",
			stub:     stubConfig{jobTime: -1},
			duration: "200ms",
			drain:    "500ms",
			wantCode: exitPass,
			wantPass: true,
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
			code := run(context.Background(), []string{
				"-url", srv.URL, "-clients", "4", "-duration", tt.duration, "-warmup", "100ms",
				"-drain", tt.drain, "-p99-target", "1s", "-file", file, "-json", out,
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
			for _, want := range []string{"baseline", "submit/baseline", "share this machine", "verdict: "} {
				if !strings.Contains(text, want) {
					t.Errorf("output lacks %q", want)
				}
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
		{name: "help", args: []string{"--help"}, wantCode: exitPass, wantStdout: "-p99-target"},
		{name: "version", args: []string{"--version"}, wantCode: exitPass, wantStdout: "docstrange-bench "},
		{name: "file is required", args: []string{"-url", "http://127.0.0.1:1"}, wantCode: exitUsage, wantStderr: "-file is required"},
		{name: "clients must be positive", args: []string{"-clients", "0", "-file", "x.pdf"}, wantCode: exitUsage, wantStderr: "-clients 0"},
		{name: "unknown flag", args: []string{"-clinets", "3"}, wantCode: exitUsage, wantStderr: "flag provided but not defined"},
		{name: "bad url", args: []string{"-url", "127.0.0.1:8080", "-file", "x.pdf"}, wantCode: exitUsage, wantStderr: "must start with http://"},
		{name: "bad scheme", args: []string{"-url", "ftp://127.0.0.1:8080", "-file", "x.pdf"}, wantCode: exitUsage, wantStderr: "scheme must be http or https"},
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
