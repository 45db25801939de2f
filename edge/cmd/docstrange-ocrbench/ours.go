package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docstrange/mesh/backends/onnx/ocr"
	"github.com/docstrange/mesh/backends/onnx/ort"
	"github.com/docstrange/mesh/plugins"
	"github.com/docstrange/mesh/plugins/host"
)

// backendName is the backend's file name in -backends-dir.
const backendName = "onnx"

// closeTimeout bounds stopping the backend process.
const closeTimeout = 30 * time.Second

// sample is one page read by one engine.
type sample struct {
	Page int `json:"page"`
	// Wall is the caller's time for the page, ms.
	WallMS float64 `json:"wall_ms"`
	// EngineMS is the OCR time the engine itself reports (the backend's
	// Timings.Inference through the plugin, Result.Timings.Total in
	// process); 0 for tesseract.
	EngineMS float64 `json:"engine_ms,omitempty"`
	CER      float64 `json:"cer"`
	cerCount
	text string
}

// oursRun holds the in-process and plugin samples of one thread count.
type oursRun struct {
	inProcess []sample
	plugin    []sample
}

// measureOurs reads every page with the in-process engine and through the
// plugin, alternating which goes first page by page, after one unmeasured
// warm-up page each. Both use the engine's defaults apart from the
// intra-op thread count, which the plugin gets from
// DOCSTRANGE_ONNX_THREADS.
func measureOurs(ctx context.Context, cfg *config, threads int, pages []*page, log *slog.Logger) (run *oursRun, err error) {
	modelDir, err := filepath.Abs(cfg.modelsDir)
	if err != nil {
		return nil, fmt.Errorf("resolving -models: %w", err)
	}
	engine, err := ocr.NewEngine(ctx, ocr.Config{ModelDir: modelDir, Runtime: ort.Config{IntraOpThreads: threads}})
	if err != nil {
		return nil, fmt.Errorf("loading the in-process engine: %w", err)
	}
	defer func() {
		if cerr := engine.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing the in-process engine: %w", cerr)
		}
	}()

	h, err := host.New(host.Config{
		Dir:          cfg.backendsDir,
		DisableWatch: true,
		Backends: map[string]host.BackendConfig{backendName: {Env: []string{
			"DOCSTRANGE_ONNX_THREADS=" + strconv.Itoa(threads),
			"DOCSTRANGE_MODELS_DIR=" + modelDir,
		}}},
	}, log.With(keyComponent, "host"), nil)
	if err != nil {
		return nil, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
		defer cancel()
		if cerr := h.Close(cctx); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if err := h.Start(ctx); err != nil {
		return nil, err
	}

	inProc := func(p *page) (sample, error) { return recognizeInProcess(ctx, engine, p) }
	viaPlugin := func(p *page) (sample, error) { return recognizeViaPlugin(ctx, h, p) }
	if _, err := inProc(pages[0]); err != nil {
		return nil, fmt.Errorf("warming up in process: %w", err)
	}
	if _, err := viaPlugin(pages[0]); err != nil {
		return nil, fmt.Errorf("warming up the plugin: %w", err)
	}
	run = &oursRun{}
	for i, p := range pages {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		first, second := inProc, viaPlugin
		if i%2 == 1 {
			first, second = viaPlugin, inProc
		}
		a, err := first(p)
		if err != nil {
			return nil, err
		}
		b, err := second(p)
		if err != nil {
			return nil, err
		}
		if i%2 == 1 {
			a, b = b, a
		}
		run.inProcess = append(run.inProcess, a)
		run.plugin = append(run.plugin, b)
		log.Info("page read", keyThreads, threads, keyPage, i,
			keyInProcessMS, a.WallMS, keyPluginMS, b.WallMS)
	}
	return run, nil
}

// pageLanguages is what every engine is told the pages are written in, as
// tesseract is with -l eng: the ONNX engine then reads with the Latin
// classes (ocr.CharsetFor), in process and through the plugin alike.
var pageLanguages = []string{"en"}

func recognizeInProcess(ctx context.Context, e *ocr.Engine, p *page) (sample, error) {
	start := time.Now()
	res, err := e.Recognize(ctx, p.img, ocr.Options{Charset: ocr.CharsetFor(pageLanguages)})
	wall := time.Since(start)
	if err != nil {
		return sample{}, fmt.Errorf("recognizing page %d in process: %w", p.Index, err)
	}
	lines := make([]string, len(res.Lines))
	for i, l := range res.Lines {
		lines[i] = l.Text
	}
	return newSample(p, wall, res.Timings.Total, strings.Join(lines, "\n")), nil
}

// recognizeViaPlugin sends p as one raw RGBA item in one Process call.
func recognizeViaPlugin(ctx context.Context, h *host.Host, p *page) (sample, error) {
	var got []plugins.ItemResult
	start := time.Now()
	// As the worker sends a page: its image in the most compact raw form
	// (gray for these pages), the conversion timed with the call.
	req := &plugins.ProcessRequest{
		Task:    plugins.TaskOCRRecognize,
		Items:   []plugins.Item{{ID: strconv.Itoa(p.Index), Image: plugins.WireImage(p.img)}},
		Options: plugins.Options{Languages: pageLanguages},
	}
	err := h.Process(ctx, backendName, req, func(r plugins.ItemResult) error {
		got = append(got, r)
		return nil
	})
	wall := time.Since(start)
	switch {
	case err != nil:
		return sample{}, fmt.Errorf("recognizing page %d through the plugin: %w", p.Index, err)
	case len(got) != 1:
		return sample{}, fmt.Errorf("recognizing page %d through the plugin: %d results for one item", p.Index, len(got))
	case got[0].Err != nil:
		return sample{}, fmt.Errorf("recognizing page %d through the plugin: %w", p.Index, got[0].Err)
	}
	lines := make([]string, len(got[0].Lines))
	for i, l := range got[0].Lines {
		lines[i] = l.Text
	}
	return newSample(p, wall, got[0].Timings.Inference, strings.Join(lines, "\n")), nil
}

func newSample(p *page, wall, engine time.Duration, text string) sample {
	c := compare(text, p.text)
	return sample{Page: p.Index, WallMS: millis(wall), EngineMS: millis(engine), CER: c.rate(), cerCount: c, text: text}
}

// millis is d in milliseconds.
func millis(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}
