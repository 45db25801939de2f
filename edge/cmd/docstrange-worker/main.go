// Command docstrange-worker is one worker process: it claims jobs from the
// Redis queue the edges fill, runs the document pipeline (PDF text layer,
// OCR through the backend plugins) with leases it keeps renewing, and
// writes results to the blob folder the edges serve them from. On SIGINT or
// SIGTERM it hands its running jobs back to the queue and exits. Under
// Nomad there is one per allocation (nomad/jobs/worker.nomad.hcl).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"log/slog"

	"github.com/docstrange/mesh/internal/buildinfo"
)

// version is stamped by make through -ldflags -X.
var version string

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cfg, err := parseConfig(args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "docstrange-worker:", err)
		return 2
	}
	if cfg.Version {
		fmt.Println("docstrange-worker", buildinfo.Version(version))
		return 0
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("component", "worker", "worker", cfg.ID, "region", cfg.Region)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	w, err := open(ctx, cfg, log)
	if err != nil {
		log.Error("starting", "error", err)
		return 1
	}
	defer w.close(ctx)
	if err := w.serve(ctx); err != nil {
		log.Error("serving", "error", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

func buildVersion() string { return buildinfo.Version(version) }
