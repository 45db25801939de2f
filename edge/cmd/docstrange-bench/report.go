package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"runtime"
	"time"
)

// report is every number of one run. The JSON file is this struct, and the
// table is printed from it, so the two never disagree.
type report struct {
	Tool      string       `json:"tool"`
	Version   string       `json:"version"`
	StartedAt time.Time    `json:"started_at"`
	Config    reportConfig `json:"config"`
	Host      reportHost   `json:"host"`
	// Chain compares the authenticated chain with the bare route at
	// -chain-clients; its baseline is Baseline itself when -chain-clients
	// equals -clients.
	Chain    *chainReport `json:"chain,omitempty"`
	Baseline *phaseReport `json:"baseline,omitempty"`
	Submit   *phaseReport `json:"submit,omitempty"`
	// Ratios are the submit phase's against Baseline.
	Ratios  reportRatios  `json:"ratios"`
	Jobs    *jobsReport   `json:"jobs,omitempty"`
	Verdict reportVerdict `json:"verdict"`
}

type reportConfig struct {
	URL             string  `json:"url"`
	Clients         int     `json:"clients"`
	ChainClients    int     `json:"chain_clients"`
	ChainP99AddedMS float64 `json:"chain_p99_added_ms"`
	ChainMinRatio   float64 `json:"chain_min_ratio"`
	// ChainRate is -chain-rate; 0 when the rate came from
	// ChainRateFraction.
	ChainRate         float64 `json:"chain_rate,omitempty"`
	ChainRateFraction float64 `json:"chain_rate_fraction"`
	ChainRounds       int     `json:"chain_rounds"`
	DurationS         float64 `json:"duration_s"`
	WarmupS           float64 `json:"warmup_s"`
	DrainS            float64 `json:"drain_s"`
	P99TargetMS       float64 `json:"p99_target_ms"`
	TimeoutS          float64 `json:"timeout_s"`
	PollConcurrency   int     `json:"poll_concurrency"`
	File              string  `json:"file"`
	FileBytes         int     `json:"file_bytes"`
	BodyBytes         int     `json:"body_bytes"`
}

// reportHost says where the client ran. SharedMachine is true when the URL
// points at this machine, so the edge and the bench competed for its CPUs.
type reportHost struct {
	CPUs          int    `json:"cpus"`
	GOMAXPROCS    int    `json:"gomaxprocs"`
	SharedMachine bool   `json:"shared_machine"`
	Note          string `json:"note"`
}

type phaseReport struct {
	Name     string `json:"name"`
	Endpoint string `json:"endpoint"`
	Clients  int    `json:"clients"`
	// OfferedRPS is the rate an open-loop phase offered; absent for a
	// closed loop.
	OfferedRPS float64 `json:"offered_requests_per_s,omitempty"`
	WindowS    float64 `json:"window_s"`
	// Slices is how many turns the phase's window was taken in, taking
	// turns with another phase (-chain-rounds); absent for one stretch.
	Slices int `json:"slices,omitempty"`
	// TurnsP99MS is each turn's own p99, in turn order; absent for one
	// stretch.
	TurnsP99MS       []float64    `json:"turns_p99_ms,omitempty"`
	Count            int          `json:"count"`
	Errors           int          `json:"errors"`
	RPS              float64      `json:"requests_per_s"`
	LatencyMS        latencyMS    `json:"latency_ms"`
	ErrorKinds       []errorCount `json:"error_kinds"`
	WarmupCount      int          `json:"warmup_count"`
	WarmupErrors     int          `json:"warmup_errors"`
	WarmupErrorKinds []errorCount `json:"warmup_error_kinds,omitempty"`
	ClientCPUCores   *float64     `json:"client_cpu_cores,omitempty"`
	MachineBusyCores *float64     `json:"machine_busy_cores,omitempty"`
	MachineCPUs      int          `json:"machine_cpus,omitempty"`
	Interrupted      bool         `json:"interrupted,omitempty"`
	// Aborted is the setup error that stopped the phase early.
	Aborted *errorCount `json:"aborted,omitempty"`
	// InEdgeMS is the phase's 2xx latency as the edge itself timed it
	// (edgemetrics.go); absent when it was not read.
	InEdgeMS *inEdgeMS `json:"in_edge_ms,omitempty"`

	lat latencySummary // exact, for the verdict's comparisons
}

// latencyMS is over successful requests only: an error that returns fast
// must not make the latency look better.
type latencyMS struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// reportRatios are submit divided by baseline; null when the baseline has
// nothing to divide by.
type reportRatios struct {
	P50        *float64 `json:"p50"`
	P95        *float64 `json:"p95"`
	P99        *float64 `json:"p99"`
	Throughput *float64 `json:"throughput"`
}

type jobsReport struct {
	Tracked        int          `json:"tracked"`
	FromWarmup     int          `json:"from_warmup"`
	Succeeded      int          `json:"succeeded"`
	Failed         int          `json:"failed"`
	Canceled       int          `json:"canceled"`
	Lost           int          `json:"lost"`
	Unfinished     int          `json:"unfinished"`
	FailureCodes   []errorCount `json:"failure_codes,omitempty"`
	Polls          int          `json:"polls"`
	PollErrors     int          `json:"poll_errors"`
	PollErrorKinds []errorCount `json:"poll_error_kinds,omitempty"`
	DrainS         float64      `json:"drain_s"`
	// LastFinishS is the last job's finish, in seconds after the submit
	// phase (warmup included) started; JobsPerS divides the finished jobs
	// by it.
	LastFinishS *float64 `json:"last_finish_s"`
	JobsPerS    float64  `json:"jobs_per_s"`
	Interrupted bool     `json:"interrupted,omitempty"`
}

type reportVerdict struct {
	Pass     bool     `json:"pass"`
	Reasons  []string `json:"reasons,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

func newReport(cfg *config, body *multipartBody, started time.Time) *report {
	shared := isLocal(cfg.baseURL.Hostname())
	note := fmt.Sprintf("the edge at %s may share this machine's CPUs with the bench; client-cpu is what the bench itself used", cfg.baseURL.Host)
	if shared {
		note = "client and server share this machine: every core the bench uses (client-cpu) is taken from the edge, and machine-cpu minus client-cpu is roughly what the edge and its workers had"
	}
	return &report{
		Tool:      "docstrange-bench",
		Version:   version(),
		StartedAt: started.UTC(),
		Config: reportConfig{
			URL:               cfg.baseURL.String(),
			Clients:           cfg.clients,
			ChainClients:      cfg.chainClients,
			ChainP99AddedMS:   ms(cfg.chainP99Added),
			ChainMinRatio:     cfg.chainMinRatio,
			ChainRate:         cfg.chainRate,
			ChainRateFraction: cfg.chainRateFraction,
			ChainRounds:       cfg.chainRounds,
			DurationS:         cfg.duration.Seconds(),
			WarmupS:           cfg.warmup.Seconds(),
			DrainS:            cfg.drain.Seconds(),
			P99TargetMS:       ms(cfg.p99Target),
			TimeoutS:          cfg.timeout.Seconds(),
			PollConcurrency:   cfg.pollConcurrency,
			File:              cfg.file,
			FileBytes:         body.fileSize,
			BodyBytes:         len(body.data),
		},
		Host: reportHost{
			CPUs:          runtime.NumCPU(),
			GOMAXPROCS:    runtime.GOMAXPROCS(0),
			SharedMachine: shared,
			Note:          note,
		},
	}
}

// isLocal reports whether host names this machine.
func isLocal(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}

// newPhaseReport describes r; nil for a phase that did not run.
func newPhaseReport(r *phaseResult) *phaseReport {
	if r == nil {
		return nil
	}
	l := r.latency
	p := &phaseReport{
		Name:       r.spec.name,
		Endpoint:   r.spec.endpoint,
		Clients:    r.spec.clients,
		OfferedRPS: r.spec.rate,
		WindowS:    r.window().Seconds(),
		Slices:     r.slices,
		Count:      l.Count,
		Errors:     r.errors.total(),
		RPS:        r.rps(),
		LatencyMS: latencyMS{
			Min: ms(l.Min), Mean: ms(l.Mean), P50: ms(l.P50),
			P95: ms(l.P95), P99: ms(l.P99), Max: ms(l.Max),
		},
		ErrorKinds:       r.errors.sorted(),
		WarmupCount:      r.warmupOK,
		WarmupErrors:     r.warmupErrors.total(),
		WarmupErrorKinds: r.warmupErrors.sorted(),
		Interrupted:      r.interrupted,
		lat:              l,
	}
	if a := r.aborted; a != nil {
		p.Aborted = &errorCount{Kind: a.kind, Count: 1, Example: a.example}
	}
	for _, d := range r.turnP99 {
		p.TurnsP99MS = append(p.TurnsP99MS, ms(d))
	}
	if r.inEdge != nil {
		p.InEdgeMS = &inEdgeMS{Count: r.inEdge.count(), P50: ms(r.inEdge.quantile(0.5)), P99: ms(r.inEdge.quantile(0.99))}
		for _, d := range r.turnEdgeP99 {
			p.InEdgeMS.TurnsP99 = append(p.InEdgeMS.TurnsP99, ms(d))
		}
	}
	if r.cpu.ClientOK {
		p.ClientCPUCores = &r.cpu.ClientCores
	}
	if r.cpu.MachineOK {
		p.MachineBusyCores = &r.cpu.MachineBusyCores
		p.MachineCPUs = r.cpu.MachineCPUs
	}
	return p
}

func newJobsReport(d *drainResult, submitStart time.Time) *jobsReport {
	j := &jobsReport{
		Tracked:        d.tracked,
		FromWarmup:     d.fromWarmup,
		Succeeded:      d.succeeded,
		Failed:         d.failed,
		Canceled:       d.canceled,
		Lost:           d.lost,
		Unfinished:     d.unfinished,
		FailureCodes:   d.failureCodes.sorted(),
		Polls:          d.polls,
		PollErrors:     d.pollErrors.total(),
		PollErrorKinds: d.pollErrors.sorted(),
		DrainS:         d.elapsed.Seconds(),
		JobsPerS:       d.jobsPerSecond(submitStart),
		Interrupted:    d.interrupted,
	}
	if !d.lastFinish.IsZero() {
		s := d.lastFinish.Sub(submitStart).Seconds()
		j.LastFinishS = &s
	}
	return j
}

// finish computes the ratios and the verdict: PASS when the submit p99 is
// within target, no submit failed, no accepted job failed, was canceled or
// was lost, and the chain comparison (when it ran) passed.
func (r *report) finish(cfg *config, interrupted bool) {
	b, s := r.Baseline, r.Submit
	if b != nil && s != nil {
		r.Ratios = reportRatios{
			P50:        ratioPtr(s.LatencyMS.P50, b.LatencyMS.P50),
			P95:        ratioPtr(s.LatencyMS.P95, b.LatencyMS.P95),
			P99:        ratioPtr(s.LatencyMS.P99, b.LatencyMS.P99),
			Throughput: ratioPtr(s.RPS, b.RPS),
		}
	}

	v := &r.Verdict
	fail := func(format string, args ...any) { v.Reasons = append(v.Reasons, fmt.Sprintf(format, args...)) }
	warn := func(format string, args ...any) { v.Warnings = append(v.Warnings, fmt.Sprintf(format, args...)) }
	if interrupted {
		fail("interrupted before the end")
	}
	if c := r.Chain; c != nil {
		c.finish(cfg)
		for _, reason := range c.Reasons {
			fail("chain: %s", reason)
		}
		if c.Baseline != nil && c.Baseline != b && c.Baseline.Errors > 0 {
			warn("%d %s errors: the chain is compared with a degraded baseline", c.Baseline.Errors, c.Baseline.Name)
		}
		for _, f := range []*chainComparison{c.FixedRate, c.Paired} {
			if f == nil {
				continue
			}
			if f.Baseline != nil && f.Baseline.Errors > 0 {
				warn("%d %s errors: the chain is compared with a degraded baseline", f.Baseline.Errors, f.Baseline.Name)
			}
			for _, p := range []*phaseReport{f.Baseline, f.Chain} {
				if p != nil && p.Count > 0 && p.RPS < 0.9*p.OfferedRPS {
					warn("%s answered %.0f of the %.0f req/s offered: it did not keep up, and its latency includes the queue", p.Name, p.RPS, p.OfferedRPS)
				}
			}
		}
	} else if cfg.chainClients > 0 && !interrupted {
		fail("the chain phase did not run")
	}
	switch {
	case s == nil:
		fail("the submit phase did not run")
	case s.Count == 0 && s.Errors == 0:
		fail("no submit completed in the measured window")
	case s.lat.P99 > cfg.p99Target:
		fail("submit p99 %s > target %s", fmtMS(s.LatencyMS.P99), cfg.p99Target)
	}
	if s != nil && s.Errors > 0 {
		fail("%d submit errors", s.Errors)
	}
	if j := r.Jobs; j != nil {
		if j.Failed > 0 {
			fail("%d jobs failed", j.Failed)
		}
		if j.Canceled > 0 {
			fail("%d jobs canceled", j.Canceled)
		}
		if j.Lost > 0 {
			fail("%d accepted jobs lost (404)", j.Lost)
		}
		if j.Unfinished > 0 {
			warn("%d jobs unfinished after the %s drain: the workers did not keep up with the submit rate", j.Unfinished, cfg.drain)
		}
	}
	if b != nil && b.Errors > 0 {
		warn("%d baseline errors: the ratios compare against a degraded baseline", b.Errors)
	}
	if s != nil && s.WarmupErrors > 0 {
		warn("%d submit errors during warmup (not counted above)", s.WarmupErrors)
	}
	for _, p := range r.phases() {
		if p.ClientCPUCores != nil && r.Host.CPUs > 0 && *p.ClientCPUCores > 0.5*float64(r.Host.CPUs) {
			warn("%s: the bench used %.1f of %d cores; its latencies include client-side queueing", p.Name, *p.ClientCPUCores, r.Host.CPUs)
		}
	}
	v.Pass = len(v.Reasons) == 0
}

func ratioPtr(a, b float64) *float64 {
	v, ok := ratio(a, b)
	if !ok {
		return nil
	}
	return &v
}

func (r *report) writeJSON(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding results: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
