// Package server adapts the ONNX OCR engine to the backend plugin contract:
// it decodes the items of a Process call, runs them through the engine
// (whose batcher merges the crops of concurrent calls) and streams each
// item's lines back as it completes.
package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docstrange/mesh/backends/onnx/ocr"
	"github.com/docstrange/mesh/plugins"
)

// Name is the backend's name in Info.
const Name = "onnx-ppocr"

// maxPNGPixels bounds a PNG item before its pixels are decoded.
const maxPNGPixels = 50_000_000

// maxConcurrentItems bounds the items of one Process call in flight; enough
// to fill recognition batches from several pages.
const maxConcurrentItems = 4

// Server implements plugins.Backend over an ocr.Engine.
type Server struct {
	engine  *ocr.Engine
	version string
	cfg     ocr.Config
}

var _ plugins.Backend = (*Server)(nil)

// New wraps a loaded engine; version is this binary's build version.
func New(engine *ocr.Engine, cfg ocr.Config, version string) *Server {
	return &Server{engine: engine, cfg: cfg, version: version}
}

// Info implements plugins.Backend.
func (s *Server) Info(ctx context.Context) (plugins.Info, error) {
	ei := s.engine.Info()
	info := plugins.Info{
		Name:    Name,
		Version: s.version,
		Tasks:   []string{plugins.TaskOCRRecognize},
		Providers: plugins.Providers{
			Requested: []string{ei.Provider.Requested},
			Active:    []string{ei.Provider.Active},
			Reason:    ei.Provider.Reason,
		},
		Session: plugins.Session{
			IntraOpThreads: s.cfg.Runtime.IntraOpThreads,
			InterOpThreads: s.cfg.Runtime.InterOpThreads,
			MaxBatchSize:   s.cfg.MaxBatchSize,
			Extra: map[string]string{
				"pool_size":          strconv.Itoa(s.cfg.Runtime.PoolSize),
				"det_limit_side_len": strconv.Itoa(s.cfg.DetLimitSideLen),
				"max_batch_wait":     s.cfg.MaxBatchWait.String(),
				"model_bundle":       ei.Name + "@" + ei.Version,
				"onnxruntime":        ei.Runtime.Version,
				"charsets":           charsets(ei.Charsets),
			},
		},
	}
	for _, m := range ei.Models {
		info.Models = append(info.Models, plugins.Model{Name: m.Name, Version: m.Version, SHA256: m.SHA256})
	}
	return info, nil
}

// Health implements plugins.Backend: serving, or degraded when the
// requested execution provider fell back to CPU, never silently.
func (s *Server) Health(ctx context.Context) (plugins.Health, error) {
	p := s.engine.Info().Provider
	if p.Fallback() {
		return plugins.Health{Status: plugins.HealthDegraded, Detail: fmt.Sprintf("requested %s, running on %s: %s", p.Requested, p.Active, p.Reason)}, nil
	}
	return plugins.Health{Status: plugins.HealthServing}, nil
}

// Process implements plugins.Backend. Items run concurrently so that their
// line crops meet in the engine's recognition batches.
func (s *Server) Process(ctx context.Context, req *plugins.ProcessRequest, emit func(plugins.ItemResult) error) error {
	if req.Task != plugins.TaskOCRRecognize {
		return fmt.Errorf("task %q: %w", req.Task, plugins.ErrUnsupportedTask)
	}
	// Languages narrow what the recogniser may read: Latin-script ones are
	// read with the Latin classes only.
	opts := ocr.Options{Charset: ocr.CharsetFor(req.Options.Languages)}
	if v := req.Options.Extra["det_limit_side_len"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("option det_limit_side_len %q: %w", v, err)
		}
		opts.DetLimitSideLen = n
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		emitErr error
		// Each decoded page holds megabytes; a request of a thousand items
		// must not decode them all at once.
		slots = make(chan struct{}, maxConcurrentItems)
	)
	for _, item := range req.Items {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			res := s.recognize(ctx, item, opts, req.Options.MinConfidence)
			mu.Lock()
			defer mu.Unlock()
			if emitErr == nil && ctx.Err() == nil {
				emitErr = emit(res)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return emitErr
}

func (s *Server) recognize(ctx context.Context, item plugins.Item, opts ocr.Options, minConf float32) plugins.ItemResult {
	out := plugins.ItemResult{ItemID: item.ID}
	start := time.Now()
	img, err := decode(item.Image)
	if err != nil {
		out.Err = &plugins.ItemError{Code: plugins.CodeInvalidImage, Message: err.Error()}
		return out
	}
	out.Timings.Preprocess = time.Since(start)
	res, err := s.engine.Recognize(ctx, img, opts)
	switch {
	case errors.Is(err, ocr.ErrImageTooLarge), errors.Is(err, ocr.ErrEmptyImage):
		out.Err = &plugins.ItemError{Code: plugins.CodeInvalidImage, Message: err.Error()}
		return out
	case err != nil:
		out.Err = &plugins.ItemError{Code: plugins.CodeInternal, Message: err.Error()}
		return out
	}
	out.Timings.Inference = res.Timings.Total
	for _, l := range res.Lines {
		if l.Confidence < minConf {
			continue
		}
		var q plugins.Quad
		for i, p := range l.Quad {
			q[i] = plugins.Point{X: float32(p.X), Y: float32(p.Y)}
		}
		out.Lines = append(out.Lines, plugins.Line{Text: l.Text, Box: q, Confidence: l.Confidence})
	}
	return out
}

// decode turns a wire image into an image.Image without copying raw
// pixels.
func decode(im plugins.Image) (image.Image, error) {
	switch im.Format {
	case plugins.ImageRGBA:
		if im.Width <= 0 || im.Height <= 0 || len(im.Data) != im.Width*im.Height*4 {
			return nil, fmt.Errorf("raw RGBA of %d bytes does not match %dx%d", len(im.Data), im.Width, im.Height)
		}
		return &image.RGBA{Pix: im.Data, Stride: im.Width * 4, Rect: image.Rect(0, 0, im.Width, im.Height)}, nil
	case plugins.ImageGray:
		if im.Width <= 0 || im.Height <= 0 || len(im.Data) != im.Width*im.Height {
			return nil, fmt.Errorf("raw gray of %d bytes does not match %dx%d", len(im.Data), im.Width, im.Height)
		}
		return &image.Gray{Pix: im.Data, Stride: im.Width, Rect: image.Rect(0, 0, im.Width, im.Height)}, nil
	case plugins.ImagePNG:
		// The header first: a small PNG can claim billions of pixels.
		hdr, err := png.DecodeConfig(bytes.NewReader(im.Data))
		if err != nil {
			return nil, fmt.Errorf("decoding PNG header: %w", err)
		}
		if int64(hdr.Width)*int64(hdr.Height) > maxPNGPixels {
			return nil, fmt.Errorf("PNG of %dx%d pixels is over the limit of %d", hdr.Width, hdr.Height, maxPNGPixels)
		}
		img, err := png.Decode(bytes.NewReader(im.Data))
		if err != nil {
			return nil, fmt.Errorf("decoding PNG: %w", err)
		}
		return img, nil
	}
	return nil, fmt.Errorf("image format %v is not supported", im.Format)
}

// charsets lists an engine's character sets and their class counts, such
// as "all:6625,latin:178".
func charsets(m map[string]int) string {
	names := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + ":" + strconv.Itoa(m[n])
	}
	return strings.Join(parts, ",")
}
