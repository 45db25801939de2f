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

	// Progress goes to stderr, so that stdout holds only the report.
	log := slog.New(slog.NewTextHandler(stderr, nil))
	rep := newReport(cfg, body, time.Now())
	fmt.Fprint(stdout, rep.header())

	log.Info("phase starting", keyPhase, "baseline", keyEndpoint, "GET /api/v1/ping",
		keyClients, cfg.clients, keyDuration, cfg.duration, keyWarmup, cfg.warmup)
	baseline := runPhase(ctx, phaseSpec{
		name: "baseline", endpoint: "GET /api/v1/ping",
		clients: cfg.clients, warmup: cfg.warmup, duration: cfg.duration,
		do: c.doPing,
	})
	rep.Baseline = newPhaseReport(baseline)

	var submit *phaseResult
	if ctx.Err() == nil {
		log.Info("phase starting", keyPhase, "submit", keyEndpoint, "POST /api/v1/documents",
			keyClients, cfg.clients, keyDuration, cfg.duration, keyWarmup, cfg.warmup,
			keyFile, body.fileName, keyBytes, body.fileSize)
		submit = runPhase(ctx, phaseSpec{
			name: "submit", endpoint: "POST /api/v1/documents",
			clients: cfg.clients, warmup: cfg.warmup, duration: cfg.duration,
			do: c.doSubmit,
		})
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
	if !rep.Verdict.Pass && !cfg.noFail {
		return exitFail
	}
	return exitPass
}

// buildVersion is set by `make` through -ldflags -X, since builds here run
// with -buildvcs=false and carry no VCS stamp.
var buildVersion string

// version is the version and commit stamped at build time.
func version() string { return buildinfo.Version(buildVersion) }
