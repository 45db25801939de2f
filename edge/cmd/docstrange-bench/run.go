package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/docstrange/mesh/internal/buildinfo"
)

// Log keys of the progress lines.
const (
	keyPhase    = "phase"
	keyEndpoint = "endpoint"
	keyClients  = "clients"
	keyRate     = "rate"
	keyRound    = "round"
	keyDuration = "duration"
	keyWarmup   = "warmup"
	keyFile     = "file"
	keyBytes    = "bytes"
	keyJobs     = "jobs"
	keyDrain    = "drain"
	keyElapsed  = "elapsed"
)

// run is the whole command; main only adds the signal context and exits
// with its result.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stdout, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitPass
	case err != nil:
		fmt.Fprintf(stderr, "docstrange-bench: %v\n", err)
		return exitUsage
	case cfg.showVersion:
		fmt.Fprintln(stdout, "docstrange-bench", version())
		return exitPass
	}

	body, err := loadMultipartBody(cfg.file)
	if err != nil {
		fmt.Fprintf(stderr, "docstrange-bench: %v\n", err)
		return exitUsage
	}
	c := newAPIClient(cfg, body)
	defer c.close()
	if err := c.waitReady(ctx, cfg.readyTimeout); err != nil {
		fmt.Fprintf(stderr, "docstrange-bench: the edge is not ready: %v\n", err)
		return exitUsage
	}
	rep := newReport(cfg, body, time.Now())
	if cfg.chainClients > 0 {
		id, err := c.whoAmI(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "docstrange-bench: the chain phase needs an API key whose tier allows the load, sent with -header \"Authorization: Bearer dsk_…\" (or -chain-clients 0 to skip it): %v\n", err)
			return exitUsage
		}
		rep.Chain = &chainReport{Clients: cfg.chainClients, Identity: id}
	}

	// Progress goes to stderr, so that stdout holds only the report.
	log := slog.New(slog.NewTextHandler(stderr, nil))
	fmt.Fprint(stdout, rep.header())

	// The chain and its baseline take turns at the same concurrency, first
	// saturated, then at a fixed rate, and then run paired at that rate
	// (paired.go); when -chain-clients is also -clients, the submit phase
	// shares the saturated baseline.
	var aborted *phaseResult
	if rep.Chain != nil {
		baseSpec, chainSpec := chainPhaseSpecs(cfg, c)
		base, chain := runAlternating(ctx, log, baseSpec, chainSpec, cfg.chainRounds)
		rep.Chain.Baseline, rep.Chain.Chain = newPhaseReport(base), newPhaseReport(chain)
		if cfg.chainClients == cfg.clients {
			rep.Baseline = rep.Chain.Baseline
		}
		if chain != nil && chain.aborted != nil {
			aborted = chain
		}
		rate, fraction := offeredRate(cfg, rep.Chain.Baseline)
		rep.Chain.OfferedRPS, rep.Chain.RateFraction = rate, fraction
		if ctx.Err() == nil && aborted == nil && rate > 0 {
			baseSpec, chainSpec := fixedRatePhaseSpecs(cfg, c, rate)
			base, chain := runAlternating(ctx, log, baseSpec, chainSpec, cfg.chainRounds, keyRate, rate)
			rep.Chain.FixedRate = &chainComparison{Baseline: newPhaseReport(base), Chain: newPhaseReport(chain)}
			if chain != nil && chain.aborted != nil {
				aborted = chain
			}
		}
		if ctx.Err() == nil && aborted == nil && rate > 0 {
			baseSpec, chainSpec := pairedPhaseSpecs(cfg, c, rate)
			base, chain := runPaired(ctx, log, baseSpec, chainSpec, keyRate, rate)
			rep.Chain.Paired = &chainComparison{Baseline: newPhaseReport(base), Chain: newPhaseReport(chain)}
			if chain.aborted != nil {
				aborted = chain
			}
		}
	}
	if rep.Baseline == nil && ctx.Err() == nil && aborted == nil {
		rep.Baseline = newPhaseReport(runLogged(ctx, log, phaseSpec{
			name: "baseline", endpoint: "GET /api/v1/ping",
			clients: cfg.clients, warmup: cfg.warmup, duration: cfg.duration,
			do: c.doPing,
		}))
	}

	var submit *phaseResult
	if ctx.Err() == nil && aborted == nil {
		submit = runLogged(ctx, log, phaseSpec{
			name: "submit", endpoint: "POST /api/v1/documents",
			clients: cfg.clients, warmup: cfg.warmup, duration: cfg.duration,
			do: c.doSubmit,
		}, keyFile, body.fileName, keyBytes, body.fileSize)
		rep.Submit = newPhaseReport(submit)
	}
	if submit != nil && ctx.Err() == nil {
		log.Info("draining", keyJobs, len(submit.jobs), keyDrain, cfg.drain)
		drained := drainJobs(ctx, c, submit.jobs, cfg.pollConcurrency, cfg.drain)
		rep.Jobs = newJobsReport(drained, submit.started)
		log.Info("drained", keyJobs, len(submit.jobs), keyElapsed, drained.elapsed.Round(time.Millisecond))
	}
	rep.finish(cfg, ctx.Err() != nil)

	fmt.Fprint(stdout, rep.table())
	if cfg.jsonPath != "" {
		if err := rep.writeJSON(cfg.jsonPath); err != nil {
			fmt.Fprintf(stderr, "docstrange-bench: %v\n", err)
			return exitUsage
		}
		fmt.Fprintf(stdout, "results: %s\n", cfg.jsonPath)
	}
	if aborted != nil {
		// A refused key is a broken setup, not a slow edge: -no-fail
		// must not turn it into a success.
		fmt.Fprintf(stderr, "docstrange-bench: the %s phase stopped at the first %s: %s\n", aborted.spec.name, aborted.aborted.kind, aborted.aborted.example)
		return exitUsage
	}
	if !rep.Verdict.Pass && !cfg.noFail {
		return exitFail
	}
	return exitPass
}

// runLogged runs spec after a progress line; extra are more attributes
// for it.
func runLogged(ctx context.Context, log *slog.Logger, spec phaseSpec, extra ...any) *phaseResult {
	return runLoggedRoutes(ctx, log, []phaseSpec{spec}, extra...)[0]
}

// runLoggedRoutes runs specs together (runRoutes) after a progress line
// each, reading the edge's histograms before and after when the first
// spec has a scrape.
func runLoggedRoutes(ctx context.Context, log *slog.Logger, specs []phaseSpec, extra ...any) []*phaseResult {
	for _, spec := range specs {
		attrs := append([]any{keyPhase, spec.name, keyEndpoint, spec.endpoint,
			keyClients, spec.clients, keyDuration, spec.duration, keyWarmup, spec.warmup}, extra...)
		log.Info("phase starting", attrs...)
	}
	scrape := specs[0].scrape
	if scrape == nil {
		return runRoutes(ctx, specs)
	}
	before, err := scrape(ctx)
	rs := runRoutes(ctx, specs)
	var after map[string]edgeHistogram
	if err == nil {
		after, err = scrape(ctx)
	}
	if err != nil {
		log.Warn("the edge's own latency is not measured", keyPhase, specs[0].name, "error", err)
		return rs
	}
	for _, r := range rs {
		r.inEdge = after[r.spec.edgeRoute].since(before[r.spec.edgeRoute])
	}
	return rs
}

// buildVersion is set by `make` through -ldflags -X, since builds here run
// with -buildvcs=false and carry no VCS stamp.
var buildVersion string

// version is the version and commit stamped at build time.
func version() string { return buildinfo.Version(buildVersion) }
