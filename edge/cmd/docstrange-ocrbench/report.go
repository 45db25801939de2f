package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// engineStats sums one engine's samples at one thread count.
type engineStats struct {
	Pages       int     `json:"pages"`
	Seconds     float64 `json:"seconds"`
	PagesPerSec float64 `json:"pages_per_s"`
	MSPerPage   float64 `json:"ms_per_page"`
	// CER is the edits of all pages over their reference characters.
	CER float64 `json:"cer"`
	cerCount
	Samples []sample `json:"samples"`
}

func newEngineStats(samples []sample) engineStats {
	s := engineStats{Pages: len(samples), Samples: samples}
	for _, x := range samples {
		s.Seconds += x.WallMS / 1000
		s.cerCount = s.cerCount.add(x.cerCount)
	}
	s.CER = s.rate()
	if s.Seconds > 0 {
		s.PagesPerSec = float64(s.Pages) / s.Seconds
		s.MSPerPage = 1000 * s.Seconds / float64(s.Pages)
	}
	return s
}

// tessStats adds tesseract's process start to its engineStats.
type tessStats struct {
	engineStats
	Version string `json:"version"`
	OpenMP  bool   `json:"openmp"`
	// StartupMS is the mean time to read a blank image: process start and
	// model load, paid by every page on the CLI.
	StartupMS float64 `json:"startup_ms"`
	// PagesPerSecNoStartup is pages/s with StartupMS taken off every page:
	// roughly what a resident tesseract (its C++ API) would do.
	PagesPerSecNoStartup float64 `json:"pages_per_s_no_startup"`
}

// overhead is the plugin's cost over the in-process call.
type overhead struct {
	// MSPerPage is the mean of plugin wall time minus in-process wall time
	// of the same page.
	MSPerPage float64 `json:"ms_per_page"`
	// Percent is MSPerPage over the mean in-process wall time.
	Percent float64 `json:"percent"`
	// WireMSPerPage is the mean of plugin wall time minus the OCR time the
	// backend reports for the page: gRPC, copying and decoding only, free
	// of run-to-run noise in the OCR itself.
	WireMSPerPage float64 `json:"wire_ms_per_page"`
	// WirePercent is WireMSPerPage over the mean in-process wall time.
	WirePercent float64 `json:"wire_percent"`
}

func newOverhead(inProc, plugin engineStats) overhead {
	var o overhead
	for i := range plugin.Samples {
		o.MSPerPage += plugin.Samples[i].WallMS - inProc.Samples[i].WallMS
		o.WireMSPerPage += plugin.Samples[i].WallMS - plugin.Samples[i].EngineMS
	}
	n := float64(len(plugin.Samples))
	o.MSPerPage /= n
	o.WireMSPerPage /= n
	o.Percent = 100 * o.MSPerPage / inProc.MSPerPage
	o.WirePercent = 100 * o.WireMSPerPage / inProc.MSPerPage
	return o
}

// threadResult is every measurement at one thread count.
type threadResult struct {
	Threads   int         `json:"threads"`
	InProcess engineStats `json:"in_process"`
	Plugin    engineStats `json:"plugin"`
	Overhead  overhead    `json:"overhead"`
	Tesseract *tessStats  `json:"tesseract,omitempty"`
}

// check is one verdict.
type check struct {
	Name     string `json:"name"`
	Threads  int    `json:"threads"`
	Target   string `json:"target"`
	Measured string `json:"measured"`
	Pass     bool   `json:"pass"`
}

// report is everything the command prints and writes.
type report struct {
	Version        string    `json:"version"`
	Started        time.Time `json:"started"`
	ElapsedSeconds float64   `json:"elapsed_seconds"`
	CPUs           int       `json:"cpus"`
	// CPU is the processor's model name, and Int8 which int8 kernels
	// ONNX Runtime runs on it: the int8 models' speed, against
	// tesseract's, differs by about four times between the two.
	CPU     string         `json:"cpu"`
	Int8    string         `json:"int8_kernels"`
	Pages   []*page        `json:"pages"`
	Results []threadResult `json:"results"`
	Checks  []check        `json:"checks"`
	Pass    bool           `json:"pass"`
}

// judge fills in the checks and the overall verdict.
func (r *report) judge(cfg *config) {
	r.Checks = nil
	for _, t := range r.Results {
		ours := t.InProcess
		speed := check{Name: "speed", Threads: t.Threads,
			Target: fmt.Sprintf("in-process pages/s >= %gx tesseract", cfg.speedRatio)}
		accuracy := check{Name: "accuracy", Threads: t.Threads, Target: "in-process CER <= tesseract CER"}
		if ts := t.Tesseract; ts != nil {
			ratio := ours.PagesPerSec / ts.PagesPerSec
			speed.Pass = ratio >= cfg.speedRatio
			speed.Measured = fmt.Sprintf("%.3f vs %.3f pages/s = %.2fx (%.2fx against tesseract without its %.0f ms process start)",
				ours.PagesPerSec, ts.PagesPerSec, ratio, ours.PagesPerSec/ts.PagesPerSecNoStartup, ts.StartupMS)
			accuracy.Pass = ours.CER <= ts.CER
			accuracy.Measured = fmt.Sprintf("%s vs %s", pct(ours.CER), pct(ts.CER))
		} else {
			speed.Measured, accuracy.Measured = "tesseract not run", "tesseract not run"
		}
		over := check{Name: "plugin overhead", Threads: t.Threads,
			Target: fmt.Sprintf("<= %g%% of in-process OCR time", cfg.maxOverhead),
			Pass:   t.Overhead.Percent <= cfg.maxOverhead,
			Measured: fmt.Sprintf("%+.1f ms/page = %+.2f%% (gRPC+decode alone: %.1f ms = %.2f%%)",
				t.Overhead.MSPerPage, t.Overhead.Percent, t.Overhead.WireMSPerPage, t.Overhead.WirePercent)}
		r.Checks = append(r.Checks, speed, accuracy, over)
	}
	r.Pass = len(r.Checks) > 0
	for _, c := range r.Checks {
		r.Pass = r.Pass && c.Pass
	}
}

func pct(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) }

// header describes the pages and the machine.
func (r *report) header() string {
	var b strings.Builder
	fmt.Fprintf(&b, "docstrange-ocrbench %s, %d CPUs, %s\n", r.Version, r.CPUs, r.Started.Format(time.RFC3339))
	fmt.Fprintf(&b, "CPU: %s; int8 kernels: %s\n", r.CPU, r.Int8)
	lines, chars := 0, 0
	for _, p := range r.Pages {
		lines += p.Lines
		chars += p.Chars
	}
	fmt.Fprintf(&b, "%d A4 pages %dx%d at %d DPI, %d text lines and %d characters in all:\n",
		len(r.Pages), pageWidth, pageHeight, pageDPI, lines, chars)
	for _, p := range r.Pages {
		fmt.Fprintf(&b, "  page %d  %-9s %2.0fpx (%4.1fpt)  %2d lines  %4d chars\n",
			p.Index, p.Style.Font, p.Style.Size, p.Style.Size*72/pageDPI, p.Lines, p.Chars)
	}
	return b.String()
}

// table prints the measurements and the verdicts.
func (r *report) table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-8s %-26s %9s %10s %8s\n", "threads", "engine", "pages/s", "ms/page", "CER")
	for _, t := range r.Results {
		row := func(name string, s engineStats) {
			fmt.Fprintf(&b, "%-8d %-26s %9.3f %10.1f %8s\n", t.Threads, name, s.PagesPerSec, s.MSPerPage, pct(s.CER))
		}
		row("onnx in-process", t.InProcess)
		row("onnx plugin", t.Plugin)
		if ts := t.Tesseract; ts != nil {
			row("tesseract", ts.engineStats)
			fmt.Fprintf(&b, "%-8d %-26s %9.3f %10.1f %8s\n", t.Threads, "tesseract w/o proc start",
				ts.PagesPerSecNoStartup, ts.MSPerPage-ts.StartupMS, "")
		}
		fmt.Fprintf(&b, "%-8d plugin overhead %+.1f ms/page (%+.2f%% of OCR time); gRPC+decode alone %.1f ms (%.2f%%)\n",
			t.Threads, t.Overhead.MSPerPage, t.Overhead.Percent, t.Overhead.WireMSPerPage, t.Overhead.WirePercent)
	}
	for _, t := range r.Results {
		if ts := t.Tesseract; ts != nil {
			fmt.Fprintf(&b, "tesseract: %s, OpenMP %v, process start %.0f ms (threads=%d)\n", ts.Version, ts.OpenMP, ts.StartupMS, t.Threads)
		}
	}
	b.WriteString("\nVerdicts:\n")
	for _, c := range r.Checks {
		v := "FAIL"
		if c.Pass {
			v = "PASS"
		}
		fmt.Fprintf(&b, "  %s threads=%d %-15s %s [target %s]\n", v, c.Threads, c.Name, c.Measured, c.Target)
	}
	v := "FAIL"
	if r.Pass {
		v = "PASS"
	}
	fmt.Fprintf(&b, "Overall: %s (%.0f s)\n", v, r.ElapsedSeconds)
	return b.String()
}

func (r *report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding results: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	return nil
}
