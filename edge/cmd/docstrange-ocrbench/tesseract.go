package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// startupRuns is how many times tesseract reads a blank image to time its
// process start and model load.
const startupRuns = 3

// tessRun holds tesseract's samples of one thread count.
type tessRun struct {
	samples []sample
	// startupMS is the mean wall time of reading a blank 64×64 image: the
	// process start and model load that every page pays on the CLI.
	startupMS float64
}

// tesseract runs the tesseract CLI on pages written as PNG files.
type tesseract struct {
	bin   string
	dir   string
	files []string
	blank string
}

// newTesseract writes the pages and a blank image into dir.
func newTesseract(bin, dir string, pages []*page) (*tesseract, error) {
	t := &tesseract{bin: bin, dir: dir}
	for _, p := range pages {
		name := filepath.Join(dir, fmt.Sprintf("page-%02d.png", p.Index))
		if err := writePNG(name, p.gray()); err != nil {
			return nil, err
		}
		t.files = append(t.files, name)
	}
	blank := image.NewGray(image.Rect(0, 0, 64, 64))
	draw.Draw(blank, blank.Bounds(), image.White, image.Point{}, draw.Src)
	t.blank = filepath.Join(dir, "blank.png")
	if err := writePNG(t.blank, blank); err != nil {
		return nil, err
	}
	return t, nil
}

func writePNG(name string, img image.Image) error {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return fmt.Errorf("encoding %s: %w", name, err)
	}
	if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing page image: %w", err)
	}
	return nil
}

// version is the first line of `tesseract --version` and whether the
// build uses OpenMP, without which OMP_THREAD_LIMIT changes nothing.
func (t *tesseract) version(ctx context.Context) (string, bool, error) {
	out, err := exec.CommandContext(ctx, t.bin, "--version").CombinedOutput()
	if err != nil {
		return "", false, fmt.Errorf("running %s --version: %w: %s", t.bin, err, bytes.TrimSpace(out))
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(first), strings.Contains(string(out), "OpenMP"), nil
}

// read runs tesseract on one image and returns its text and wall time.
func (t *tesseract) read(ctx context.Context, file string, threads int) (string, time.Duration, error) {
	cmd := exec.CommandContext(ctx, t.bin, file, "stdout", "-l", "eng", "--dpi", strconv.Itoa(pageDPI))
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT="+strconv.Itoa(threads))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return "", 0, fmt.Errorf("running tesseract on %s: %w: %s", file, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.String(), wall, nil
}

// measure times the process start on the blank image, then reads every
// page once, after one unmeasured warm-up run that fills the file cache.
func (t *tesseract) measure(ctx context.Context, threads int, pages []*page, log *slog.Logger) (*tessRun, error) {
	if _, _, err := t.read(ctx, t.files[0], threads); err != nil {
		return nil, err
	}
	run := &tessRun{}
	var startup time.Duration
	for range startupRuns {
		_, d, err := t.read(ctx, t.blank, threads)
		if err != nil {
			return nil, err
		}
		startup += d
	}
	run.startupMS = millis(startup / startupRuns)
	for i, p := range pages {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		text, wall, err := t.read(ctx, t.files[i], threads)
		if err != nil {
			return nil, err
		}
		s := newSample(p, wall, 0, text)
		run.samples = append(run.samples, s)
		log.Info("page read", keyThreads, threads, keyPage, i, keyTesseractMS, s.WallMS)
	}
	return run, nil
}
