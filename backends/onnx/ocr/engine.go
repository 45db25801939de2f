// Package ocr is a PaddleOCR PP-OCRv4 pipeline on ONNX Runtime in pure Go:
// DB text detection, an optional 0°/180° classifier, CTC recognition with
// word-space recovery, dynamic batching of recognition crops across
// concurrent calls, and column-aware reading order.
package ocr

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docstrange/mesh/backends/onnx/graphopt"
	"github.com/docstrange/mesh/backends/onnx/manifest"
	"github.com/docstrange/mesh/backends/onnx/ort"
)

// Engine recognises text in images. It is safe for concurrent use.
type Engine struct {
	cfg   Config
	man   *manifest.Manifest
	rt    *ort.Runtime
	det   *detector
	cls   *classifier
	rec   *recognizer
	batch *batcher[*raster, recResult]
	// recLatin and batchLatin read Latin-script text with the dictionary
	// cut to the Latin classes (Options.Charset); nil when the model's
	// head cannot be cut.
	recLatin   *recognizer
	batchLatin *batcher[*raster, recResult]
	// sessions are every session pool opened, for Close.
	sessions []*ort.Session
	info     Info
	stats    stats

	closeOnce sync.Once
	closeErr  error
}

// stats counts recognition batches; BatchStats reads it.
type stats struct {
	runs, crops atomic.Int64
}

// BatchStats is how many recognition session runs an Engine made and how
// many crops they held.
type BatchStats struct {
	Runs  int64 `json:"runs"`
	Crops int64 `json:"crops"`
}

// Line is one recognised text line.
type Line struct {
	// Text is the recognised text, with recovered word spaces.
	Text string `json:"text"`
	// Confidence is the mean probability of the recognised characters.
	Confidence float32 `json:"confidence"`
	// Quad is the detected, possibly rotated box in image pixels.
	Quad Quad `json:"quad"`
	// Box is the axis-aligned box around Quad.
	Box Rect `json:"box"`
}

// Timings break a Recognize call down.
type Timings struct {
	Detect    time.Duration `json:"detect"`
	Classify  time.Duration `json:"classify"`
	Recognize time.Duration `json:"recognize"`
	Total     time.Duration `json:"total"`
}

// Result is what Recognize found, lines in reading order.
type Result struct {
	Lines   []Line  `json:"lines"`
	Timings Timings `json:"timings"`
}

// Info describes a loaded Engine, for the plugin's Info call.
type Info struct {
	// Name and Version are the model bundle's.
	Name    string `json:"name"`
	Version string `json:"version"`
	// Tasks are the tasks the engine serves.
	Tasks []string `json:"tasks"`
	// Models are the loaded models and their hashes.
	Models []ModelInfo `json:"models"`
	// Runtime is the ONNX Runtime library version and hash.
	Runtime ModelInfo `json:"runtime"`
	// Provider is the execution provider asked for and the one in use.
	Provider ort.ProviderReport `json:"provider"`
	// RecSessions is how many recognition sessions run side by side.
	RecSessions int `json:"rec_sessions"`
	// Charsets are the character sets Options.Charset can ask for, with
	// their class counts (blank and space included).
	Charsets map[string]int `json:"charsets"`
	// LoadTime is how long NewEngine took.
	LoadTime time.Duration `json:"load_time"`
}

// ModelInfo identifies one model file.
type ModelInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Task    string `json:"task,omitempty"`
	SHA256  string `json:"sha256"`
	// Rewrite counts the graph rewrites applied at load; nil when the
	// model was loaded as it is.
	Rewrite *graphopt.Stats `json:"rewrite,omitempty"`
	// Precision is the arithmetic the model runs in: "int8" for a
	// recogniser quantized at load, else "fp32".
	Precision string `json:"precision,omitempty"`
	// Quantized describes the int8 rewrite; nil for a float model.
	Quantized *graphopt.QuantStats `json:"quantized,omitempty"`
}

// NewEngine loads and verifies the manifest in cfg.ModelDir, opens the ONNX
// Runtime and one session pool per model. A requested execution provider
// that cannot load falls back to CPU; Info reports it.
func NewEngine(ctx context.Context, cfg Config) (*Engine, error) {
	start := time.Now()
	if cfg.ModelDir == "" {
		d, err := manifest.DefaultDir()
		if err != nil {
			return nil, fmt.Errorf("finding model dir: %w", err)
		}
		cfg.ModelDir = d
	}
	man, err := manifest.Load(ctx, cfg.ModelDir)
	if err != nil {
		return nil, err
	}
	detM, ok1 := man.Model(manifest.TaskDetect)
	recM, ok2 := man.Model(manifest.TaskRecognize)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("loading %s: %w (need %s and %s)", cfg.ModelDir, ErrMissingModel, manifest.TaskDetect, manifest.TaskRecognize)
	}
	if err := cfg.validate(detM.Detect.LimitSideLen, detM.Detect.Stride); err != nil {
		return nil, err
	}
	rt, err := ort.Open(man.Path(man.Runtime.File))
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, man: man, rt: rt}
	if err := e.open(ctx, detM, recM); err != nil {
		_ = e.Close()
		return nil, err
	}
	e.info.LoadTime = time.Since(start)
	return e, nil
}

func (e *Engine) open(ctx context.Context, detM, recM manifest.Model) error {
	cfg := e.cfg
	// rewrites are the graph rewrites applied, by model name, for Info.
	rewrites := map[string]*ModelInfo{}
	e.det = &detector{input: detM.Input, p: *detM.Detect}
	var detQuant *quantSpec
	if cfg.DetPrecision == PrecisionInt8 && !cfg.NoGraphRewrite && cfg.Runtime.Provider == ort.ProviderCPU {
		detQuant = &quantSpec{setting: "det_precision", samples: detectorSamples(e.det)}
	}
	det, _, err := e.session(ctx, detM, cfg.Runtime, rewrites, detQuant)
	if err != nil {
		return err
	}
	e.det.sess = det
	// On CPU the recogniser's threads go to separate lines rather than
	// into each operator, which scales better (see Config.RecSessions).
	recRT := cfg.Runtime
	if det.Report().Active == ort.ProviderCPU {
		if e.cfg.RecSessions == 0 {
			threads := cfg.Runtime.IntraOpThreads
			if threads == 0 {
				threads = runtime.NumCPU()
			}
			e.cfg.RecSessions = max(cfg.Runtime.PoolSize, 1) * threads
		}
		recRT.IntraOpThreads, recRT.PoolSize = 1, e.cfg.RecSessions
	}
	// On CPU the recogniser runs in int8 unless told otherwise; GPU
	// providers keep the float model, and so does no_graph_rewrite, since
	// quantizing is a rewrite.
	var recQuant *quantSpec
	if cfg.RecPrecision == PrecisionInt8 && !cfg.NoGraphRewrite && det.Report().Active == ort.ProviderCPU {
		recQuant = &quantSpec{setting: "rec_precision", samples: recognizerSamples(recM)}
	}
	rec, recModel, err := e.session(ctx, recM, recRT, rewrites, recQuant)
	if err != nil {
		return err
	}
	newRecognizer := func(sess *ort.Session, labels []string) *recognizer {
		rc := &recognizer{
			sess: sess, input: recM.Input, p: *recM.Recognize, labels: labels,
			maxWidth: cfg.MaxRecWidth, maxSpread: 2,
			onRun: func(n int) { e.stats.runs.Add(1); e.stats.crops.Add(int64(n)) },
		}
		rc.outputs.New = func() any { return new([]float32) }
		return rc
	}
	e.rec = newRecognizer(rec, recM.Recognize.Dictionary.Labels)
	if latin, labels, err := e.latinSession(ctx, recM, recModel, recRT); err != nil {
		return err
	} else if latin != nil {
		e.recLatin = newRecognizer(latin, labels)
	}
	models := []manifest.Model{detM, recM}
	if clsM, ok := e.man.Model(manifest.TaskClassify); ok {
		cls, _, err := e.session(ctx, clsM, cfg.Runtime, rewrites, nil)
		if err != nil {
			return err
		}
		e.cls = &classifier{sess: cls, input: clsM.Input, p: *clsM.Classify, height: int(clsM.Input.Shape[2]), width: int(clsM.Input.Shape[3])}
		if e.cls.height <= 0 || e.cls.width <= 0 {
			return fmt.Errorf("loading model %q: input shape %v: %w", clsM.Name, clsM.Input.Shape, manifest.ErrUnsupported)
		}
		models = append(models, clsM)
	}
	if e.cfg.MaxBatchSize == 0 {
		e.cfg.MaxBatchSize = 32
		if det.Report().Active == ort.ProviderCPU {
			e.cfg.MaxBatchSize = 1
		}
	}
	e.batch = newBatcher(ctx, e.cfg.MaxBatchSize, cfg.MaxBatchWait, recRT.PoolSize, e.rec.run)
	if e.recLatin != nil {
		e.batchLatin = newBatcher(ctx, e.cfg.MaxBatchSize, cfg.MaxBatchWait, recRT.PoolSize, e.recLatin.run)
	}
	e.info = Info{
		Name: e.man.Name, Version: e.man.Version,
		Runtime:     ModelInfo{Name: e.man.Runtime.Name, Version: e.rt.Version(), SHA256: e.man.Runtime.SHA256},
		Provider:    det.Report(),
		RecSessions: recRT.PoolSize,
		Charsets:    map[string]int{CharsetAll: len(e.rec.labels)},
	}
	if e.recLatin != nil {
		e.info.Charsets[CharsetLatin] = len(e.recLatin.labels)
	}
	for _, m := range models {
		e.info.Tasks = append(e.info.Tasks, m.Task)
		mi := ModelInfo{Name: m.Name, Version: m.Version, Task: m.Task, SHA256: m.SHA256, Precision: PrecisionFP32}
		if r := rewrites[m.Name]; r != nil {
			mi.Rewrite, mi.Precision, mi.Quantized = r.Rewrite, r.Precision, r.Quantized
		}
		e.info.Models = append(e.info.Models, mi)
	}
	return nil
}

// quantSpec asks session for an int8 model: the setting that turns it off
// (for errors) and the calibration inputs.
type quantSpec struct {
	setting string
	samples func() ([]ort.Tensor, error)
}

// session opens a session pool of one model, its graph rewritten by
// graphopt unless Config.NoGraphRewrite, or quantized to int8 when quant is
// set; what was done goes into rewrites.
func (e *Engine) session(ctx context.Context, m manifest.Model, rt ort.Config, rewrites map[string]*ModelInfo, quant *quantSpec) (*ort.Session, []byte, error) {
	path := e.man.Path(m.File)
	var s *ort.Session
	var model []byte
	var err error
	if e.cfg.NoGraphRewrite {
		s, err = e.rt.NewSession(ctx, path, rt)
	} else {
		var data []byte
		if data, err = os.ReadFile(path); err != nil {
			return nil, nil, fmt.Errorf("loading model %q: %w", m.Name, err)
		}
		info := &ModelInfo{Precision: PrecisionFP32}
		if quant != nil {
			q, st, qerr := e.quantize(ctx, m, data, rt, quant.setting, quant.samples)
			if qerr != nil {
				return nil, nil, qerr
			}
			model, info.Precision, info.Quantized = q, PrecisionInt8, &st
		} else {
			rw, st, rerr := graphopt.Rewrite(data)
			if rerr != nil {
				return nil, nil, fmt.Errorf("loading model %q: rewriting its graph: %w (set no_graph_rewrite to load it as it is)", m.Name, rerr)
			}
			model, info.Rewrite = rw, &st
		}
		rewrites[m.Name] = info
		s, err = e.rt.NewSessionFromBytes(ctx, path, model, rt)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("loading model %q: %w", m.Name, err)
	}
	e.sessions = append(e.sessions, s)
	return s, model, nil
}

// Info describes the loaded models and the execution provider in use.
func (e *Engine) Info() Info { return e.info }

// BatchStats returns the recognition batching counters so far.
func (e *Engine) BatchStats() BatchStats {
	return BatchStats{Runs: e.stats.runs.Load(), Crops: e.stats.crops.Load()}
}

// Recognize finds and reads the text lines of img. Images larger than
// Config.MaxImageSide or Config.MaxImagePixels are rejected before any
// pixel is touched; decoding untrusted input safely is the caller's job.
func (e *Engine) Recognize(ctx context.Context, img image.Image, opts Options) (Result, error) {
	start := time.Now()
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	switch {
	case w <= 0 || h <= 0:
		return Result{}, fmt.Errorf("recognizing %dx%d image: %w", w, h, ErrEmptyImage)
	case w > e.cfg.MaxImageSide || h > e.cfg.MaxImageSide || w*h > e.cfg.MaxImagePixels:
		return Result{}, fmt.Errorf("recognizing %dx%d image: %w (limits: side %d, pixels %d)", w, h, ErrImageTooLarge, e.cfg.MaxImageSide, e.cfg.MaxImagePixels)
	}
	limit := e.cfg.DetLimitSideLen
	if opts.DetLimitSideLen != 0 {
		limit = opts.DetLimitSideLen
		if limit < e.det.p.Stride || limit%e.det.p.Stride != 0 || limit > e.cfg.MaxImageSide {
			return Result{}, fmt.Errorf("recognizing: det_limit_side_len %d must be a multiple of %d up to %d", limit, e.det.p.Stride, e.cfg.MaxImageSide)
		}
	}
	if opts.Charset != "" && opts.Charset != CharsetAll && opts.Charset != CharsetLatin {
		return Result{}, fmt.Errorf("recognizing: charset %q must be %q or %q", opts.Charset, CharsetAll, CharsetLatin)
	}
	var res Result
	r := toRaster(img)
	quads, err := e.det.detect(ctx, r, limit)
	if err != nil {
		return Result{}, err
	}
	res.Timings.Detect = time.Since(start)
	crops := make([]*raster, len(quads))
	for i, q := range quads {
		crops[i] = crop(r, q)
	}
	if (e.cfg.AngleClassifier || opts.AngleClassifier) && e.cls != nil {
		t := time.Now()
		if _, err := e.cls.orient(ctx, crops); err != nil {
			return Result{}, err
		}
		res.Timings.Classify = time.Since(t)
	}
	t := time.Now()
	batch := e.batch
	if opts.Charset == CharsetLatin && e.batchLatin != nil {
		batch = e.batchLatin
	}
	recs, err := batch.submit(ctx, crops)
	if err != nil {
		return Result{}, err
	}
	res.Timings.Recognize = time.Since(t)
	var lines []Line
	for i, rr := range recs {
		text, conf := e.cfg.Spaces.text(rr)
		if text == "" || conf < e.cfg.MinConfidence {
			continue
		}
		lines = append(lines, Line{Text: text, Confidence: conf, Quad: quads[i], Box: quads[i].Bounds()})
	}
	boxes := make([]Rect, len(lines))
	for i, l := range lines {
		boxes[i] = l.Box
	}
	for _, i := range readingOrder(boxes) {
		res.Lines = append(res.Lines, lines[i])
	}
	res.Timings.Total = time.Since(start)
	return res, nil
}

// Close stops the batcher, waits for running batches and releases the
// sessions and the runtime. Close is idempotent.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		if e.batch != nil {
			e.batch.close()
		}
		if e.batchLatin != nil {
			e.batchLatin.close()
		}
		var errs []error
		for _, s := range e.sessions {
			errs = append(errs, s.Close())
		}
		errs = append(errs, e.rt.Close())
		e.closeErr = errors.Join(errs...)
	})
	return e.closeErr
}
