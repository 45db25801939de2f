package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/docstrange/mesh/internal/buildinfo"
)

// Log keys of the progress lines.
const (
	keyPhase       = "phase"
	keyThreads     = "threads"
	keyPage        = "page"
	keyPages       = "pages"
	keyInProcessMS = "in_process_ms"
	keyPluginMS    = "plugin_ms"
	keyTesseractMS = "tesseract_ms"
	keyComponent   = "component"
	keyVariable    = "variable"
	keyDir         = "dir"
)

// run is the whole command; main only adds the signal context and exits
// with its result.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stdout, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitPass
	case err != nil:
		fmt.Fprintf(stderr, "docstrange-ocrbench: %v\n", err)
		return exitUsage
	case cfg.showVersion:
		fmt.Fprintln(stdout, "docstrange-ocrbench", version())
		return exitPass
	}
	// Progress goes to stderr, so that stdout holds only the report.
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	rep, err := bench(ctx, cfg, stdout, log)
	if err != nil {
		fmt.Fprintf(stderr, "docstrange-ocrbench: %v\n", err)
		return exitUsage
	}
	fmt.Fprint(stdout, rep.table())
	if cfg.jsonPath != "" {
		if err := rep.writeJSON(cfg.jsonPath); err != nil {
			fmt.Fprintf(stderr, "docstrange-ocrbench: %v\n", err)
			return exitUsage
		}
		fmt.Fprintf(stdout, "results: %s\n", cfg.jsonPath)
	}
	if !rep.Pass && !cfg.noFail {
		return exitFail
	}
	return exitPass
}

// bench renders the pages and measures every engine at every thread count.
func bench(ctx context.Context, cfg *config, stdout io.Writer, log *slog.Logger) (*report, error) {
	for _, kv := range os.Environ() {
		// The plugin inherits these; the in-process engine does not read
		// them, so the two would no longer run the same configuration.
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "DOCSTRANGE_ONNX_") {
			log.Warn("set in the environment: the plugin applies it, the in-process engine does not", keyVariable, name)
		}
	}
	rep := &report{Version: version(), Started: time.Now(), CPUs: runtime.NumCPU(), CPU: cpuName(), Int8: int8Kernels()}
	for i := range cfg.pages {
		p, err := renderPage(i)
		if err != nil {
			return nil, err
		}
		rep.Pages = append(rep.Pages, p)
	}
	fmt.Fprint(stdout, rep.header())

	work := cfg.keepDir
	if work == "" {
		dir, err := os.MkdirTemp("", "docstrange-ocrbench-")
		if err != nil {
			return nil, fmt.Errorf("creating the page folder: %w", err)
		}
		defer os.RemoveAll(dir)
		work = dir
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, fmt.Errorf("creating -keep folder: %w", err)
	}
	var tess *tesseract
	var tessVersion string
	var tessOpenMP bool
	if !cfg.skipTesseract {
		var err error
		if tess, err = newTesseract(cfg.tesseract, work, rep.Pages); err != nil {
			return nil, err
		}
		if tessVersion, tessOpenMP, err = tess.version(ctx); err != nil {
			return nil, err
		}
	}

	for _, threads := range cfg.threads {
		log.Info("phase starting", keyPhase, "onnx in-process and plugin", keyThreads, threads, keyPages, len(rep.Pages))
		ours, err := measureOurs(ctx, cfg, threads, rep.Pages, log)
		if err != nil {
			return nil, err
		}
		t := threadResult{Threads: threads, InProcess: newEngineStats(ours.inProcess), Plugin: newEngineStats(ours.plugin)}
		t.Overhead = newOverhead(t.InProcess, t.Plugin)
		if tess != nil {
			log.Info("phase starting", keyPhase, "tesseract", keyThreads, threads, keyPages, len(rep.Pages))
			tr, err := tess.measure(ctx, threads, rep.Pages, log)
			if err != nil {
				return nil, err
			}
			ts := &tessStats{engineStats: newEngineStats(tr.samples), Version: tessVersion, OpenMP: tessOpenMP, StartupMS: tr.startupMS}
			if rest := ts.Seconds - float64(ts.Pages)*ts.StartupMS/1000; rest > 0 {
				ts.PagesPerSecNoStartup = float64(ts.Pages) / rest
			}
			t.Tesseract = ts
			if cfg.keepDir != "" {
				if err := keepTexts(cfg.keepDir, threads, "tesseract", tr.samples); err != nil {
					return nil, err
				}
			}
		}
		if cfg.keepDir != "" {
			if err := keepTexts(cfg.keepDir, threads, "onnx", ours.inProcess); err != nil {
				return nil, err
			}
		}
		rep.Results = append(rep.Results, t)
	}
	if cfg.keepDir != "" {
		for _, p := range rep.Pages {
			if err := os.WriteFile(filepath.Join(cfg.keepDir, fmt.Sprintf("page-%02d.txt", p.Index)), []byte(p.text+"\n"), 0o644); err != nil {
				return nil, fmt.Errorf("writing reference text: %w", err)
			}
		}
		log.Info("pages and texts kept", keyDir, cfg.keepDir)
	}
	rep.ElapsedSeconds = time.Since(rep.Started).Seconds()
	rep.judge(cfg)
	return rep, nil
}

// keepTexts writes what an engine read of each page, for a look at its
// errors.
func keepTexts(dir string, threads int, engine string, samples []sample) error {
	for _, s := range samples {
		name := filepath.Join(dir, fmt.Sprintf("page-%02d.%s.t%d.txt", s.Page, engine, threads))
		if err := os.WriteFile(name, []byte(s.text+"\n"), 0o644); err != nil {
			return fmt.Errorf("writing recognised text: %w", err)
		}
	}
	return nil
}

// buildVersion is set by `make` through -ldflags -X, since builds here run
// with -buildvcs=false and carry no VCS stamp.
var buildVersion string

// version is the version and commit stamped at build time.
func version() string { return buildinfo.Version(buildVersion) }
