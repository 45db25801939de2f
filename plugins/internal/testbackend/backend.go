package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/png"
	"log/slog"
	"os"
	"time"

	"github.com/docstrange/mesh/plugins"
)

// Log keys.
const (
	logKeyItem    = "item"
	logKeyTask    = "task"
	logKeyVersion = "version"
)

type backend struct {
	version     string
	health      string
	apiVersions []string
	sickFile    string
	log         *slog.Logger
}

func (b *backend) Info(context.Context) (plugins.Info, error) {
	return plugins.Info{
		Name:        "testbackend",
		Version:     b.version,
		Tasks:       []string{plugins.TaskOCRDetect, plugins.TaskOCRRecognize},
		APIVersions: b.apiVersions,
		Providers: plugins.Providers{
			Requested: []string{"cuda", "cpu"},
			Active:    []string{"cpu"},
			Reason:    "cuda: test backend has no GPU",
		},
		Models: []plugins.Model{{Name: "rec", Version: b.version, SHA256: "0000000000000000000000000000000000000000000000000000000000000000"}},
		Session: plugins.Session{
			IntraOpThreads:    1,
			InterOpThreads:    1,
			GraphOptimization: "all",
			MaxBatchSize:      8,
		},
	}, nil
}

func (b *backend) Health(context.Context) (plugins.Health, error) {
	if b.health != "serving" {
		return plugins.Health{Status: plugins.HealthNotServing, Detail: "built unhealthy"}, nil
	}
	if b.sickFile != "" {
		if _, err := os.Stat(b.sickFile); err == nil {
			return plugins.Health{Status: plugins.HealthNotServing, Detail: b.sickFile + " exists"}, nil
		}
	}
	return plugins.Health{Status: plugins.HealthDegraded, Detail: "cuda: test backend has no GPU"}, nil
}

func (b *backend) Process(ctx context.Context, req *plugins.ProcessRequest, emit func(plugins.ItemResult) error) error {
	if req.Task != plugins.TaskOCRRecognize && req.Task != plugins.TaskOCRDetect {
		return fmt.Errorf("%w: %q", plugins.ErrUnsupportedTask, req.Task)
	}
	var delay time.Duration
	if s := req.Options.Extra["delay"]; s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("parsing delay option: %w", err)
		}
		delay = d
	}
	for _, it := range req.Items {
		start := time.Now()
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			b.log.Info("process cancelled", logKeyItem, it.ID, logKeyTask, req.Task, logKeyVersion, b.version)
			return ctx.Err()
		case <-t.C:
		}
		if err := emit(b.result(req.Task, it, time.Since(start))); err != nil {
			return err
		}
	}
	return nil
}

func (b *backend) result(task string, it plugins.Item, took time.Duration) plugins.ItemResult {
	r := plugins.ItemResult{ItemID: it.ID, Timings: plugins.Timings{Inference: took}}
	w, h := it.Image.Width, it.Image.Height
	switch it.Image.Format {
	case plugins.ImagePNG:
		cfg, _, err := image.DecodeConfig(bytes.NewReader(it.Image.Data))
		if err != nil {
			r.Err = &plugins.ItemError{Code: plugins.CodeInvalidImage, Message: err.Error()}
			return r
		}
		w, h = cfg.Width, cfg.Height
	case plugins.ImageRGBA:
		if w <= 0 || h <= 0 || len(it.Image.Data) != w*h*4 {
			r.Err = &plugins.ItemError{Code: plugins.CodeInvalidImage, Message: fmt.Sprintf("rgba: %d bytes for %dx%d", len(it.Image.Data), w, h)}
			return r
		}
	case plugins.ImageGray:
		if w <= 0 || h <= 0 || len(it.Image.Data) != w*h || !b.speaks(plugins.APIVersion1_1) {
			r.Err = &plugins.ItemError{Code: plugins.CodeInvalidImage, Message: fmt.Sprintf("gray: %d bytes for %dx%d (API versions %v)", len(it.Image.Data), w, h, b.apiVersions)}
			return r
		}
	default:
		r.Err = &plugins.ItemError{Code: plugins.CodeInvalidImage, Message: "unknown image format"}
		return r
	}
	box := plugins.Quad{{X: 0, Y: 0}, {X: float32(w), Y: 0}, {X: float32(w), Y: float32(h)}, {X: 0, Y: float32(h)}}
	text := ""
	if task == plugins.TaskOCRRecognize {
		text = fmt.Sprintf("%s %dx%d %s", it.ID, w, h, b.version)
	}
	r.Lines = []plugins.Line{{Text: text, Box: box, Confidence: 1}}
	return r
}

// speaks reports whether the backend lists API version v or a later one of
// the same major version; a v1-only backend must never be sent ImageGray.
func (b *backend) speaks(v string) bool {
	for _, have := range b.apiVersions {
		if plugins.APIVersionAtLeast(have, v) {
			return true
		}
	}
	return false
}
