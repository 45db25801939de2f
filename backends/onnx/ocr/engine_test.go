package ocr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docstrange/mesh/backends/onnx/graphopt"
	"github.com/docstrange/mesh/backends/onnx/ort"

	"github.com/docstrange/mesh/backends/onnx/internal/modeltest"
	"github.com/docstrange/mesh/backends/onnx/manifest"
)

// newTestEngine opens an engine on the model cache, fetching the models
// first when they are missing.
func newTestEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	m := modeltest.Manifest(t)
	cfg.ModelDir = m.Dir
	e, err := NewEngine(t.Context(), cfg)
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func TestTwoColumns(t *testing.T) {
	e := newTestEngine(t, Config{})
	face := newFace(t, "goregular", 20)
	left := []string{"Left column starts here", "and it keeps going", "down the page until", "the left side ends."}
	right := []string{"Right column begins", "only after the left", "one has been read", "from top to bottom."}
	colW := 0
	for _, s := range append(slices.Clone(left), right...) {
		colW = max(colW, textWidth(face, s))
	}
	title := "A Title Across Both Columns"
	img := render(face, 2*colW+140, 260,
		block{x: (2*colW + 140 - textWidth(face, title)) / 2, y: 15, lines: []string{title}},
		block{x: 20, y: 70, lines: left},
		block{x: colW + 120, y: 70, lines: right},
	)
	res, err := e.Recognize(t.Context(), img, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]string{title}, left...), right...)
	var got []string
	for _, l := range res.Lines {
		got = append(got, l.Text)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d lines %q, want %d", len(got), got, len(want))
	}
	for i := range want {
		if c := cer(got[i], want[i]); c > 0.1 {
			t.Errorf("line %d: %q, want %q (CER %.0f%%)", i, got[i], want[i], 100*c)
		}
	}
}

func TestAngleClassifier(t *testing.T) {
	e := newTestEngine(t, Config{AngleClassifier: true})
	face := newFace(t, "goregular", 24)
	want := "Upside down text is turned back"
	img := render(face, textWidth(face, want)+40, 80, block{x: 20, y: 20, lines: []string{want}})
	flipped := image.NewGray(img.Bounds())
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			flipped.SetGray(b.Max.X-1-x, b.Max.Y-1-y, img.GrayAt(x, y))
		}
	}
	res, err := e.Recognize(t.Context(), flipped, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := joined(res); cer(got, want) > 0.05 {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestProviderFallbackEngine(t *testing.T) {
	e := newTestEngine(t, Config{Runtime: ort.Config{Provider: ort.ProviderCUDA}})
	p := e.Info().Provider
	if p.Active == ort.ProviderCUDA {
		t.Skip("cuda provider loaded; no fallback to test")
	}
	if p.Requested != ort.ProviderCUDA || p.Active != ort.ProviderCPU || p.Reason == "" {
		t.Fatalf("provider report %+v, want requested cuda, active cpu and a reason", p)
	}
	face := newFace(t, "goregular", 24)
	want := "Still works on the CPU"
	res, err := e.Recognize(t.Context(), render(face, 400, 70, block{x: 20, y: 15, lines: []string{want}}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := joined(res); cer(got, want) > 0.05 {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestInfo(t *testing.T) {
	e := newTestEngine(t, Config{})
	info := e.Info()
	if info.Name == "" || info.Version == "" || info.Runtime.Version == "" || len(info.Models) != 3 || info.LoadTime <= 0 {
		t.Fatalf("info %+v", info)
	}
	for _, m := range info.Models {
		if len(m.SHA256) != 64 || m.Task == "" {
			t.Errorf("model %+v lacks hash or task", m)
		}
	}
	t.Logf("model load time %v", info.LoadTime)
}

// TestRecSessions: on CPU the recogniser gets one-thread sessions, as many
// as the threads it was given, and reads a page the same as one session.
func TestRecSessions(t *testing.T) {
	img, want := page(t, 620, 18)
	for _, tc := range []struct {
		cfg  Config
		want int
	}{
		{Config{Runtime: ort.Config{IntraOpThreads: 2}}, 2},
		{Config{Runtime: ort.Config{IntraOpThreads: 2, PoolSize: 2}}, 4},
		{Config{RecSessions: 1, Runtime: ort.Config{IntraOpThreads: 2}}, 1},
	} {
		e := newTestEngine(t, tc.cfg)
		if got := e.Info().RecSessions; got != tc.want {
			t.Errorf("%+v: %d recognition sessions, want %d", tc.cfg, got, tc.want)
		}
		res, err := e.Recognize(t.Context(), img, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if c := cer(joined(res), want); c > 0.01 {
			t.Errorf("%+v: CER %.2f%%", tc.cfg, 100*c)
		}
		_ = e.Close()
	}
	if _, err := NewEngine(t.Context(), Config{RecSessions: -1}); err == nil {
		t.Error("rec_sessions -1: want an error")
	}
}

// TestGraphRewrite reads one page with the rewritten graphs and with the
// models as they are: the same text, and Info says which was used.
func TestGraphRewrite(t *testing.T) {
	img, want := page(t, 620, 18)
	tests := []struct {
		name string
		cfg  Config
	}{
		{name: "as shipped", cfg: Config{NoGraphRewrite: true}},
		{name: "float detector rewritten", cfg: Config{DetPrecision: PrecisionFP32}},
		{name: "defaults", cfg: Config{}},
	}
	texts := map[string]string{}
	for _, tt := range tests {
		raw, detFloat := tt.cfg.NoGraphRewrite, tt.cfg.DetPrecision == PrecisionFP32
		e := newTestEngine(t, tt.cfg)
		for _, m := range e.Info().Models {
			switch {
			case raw && m.Rewrite != nil:
				t.Errorf("%s: model %s reports rewrites %+v", tt.name, m.Name, m.Rewrite)
			case raw && m.Precision != PrecisionFP32:
				t.Errorf("%s: model %s runs in %s, want fp32", tt.name, m.Name, m.Precision)
			case !raw && detFloat && m.Task == manifest.TaskDetect && (m.Precision != PrecisionFP32 || m.Rewrite == nil || m.Rewrite.HardSwish == 0):
				t.Errorf("%s: model %s: precision %s, rewrite %+v, want fp32 with hard-swish rewrites", tt.name, m.Name, m.Precision, m.Rewrite)
			case !raw && !detFloat && m.Task == manifest.TaskDetect && (m.Precision != PrecisionInt8 || m.Quantized == nil || m.Quantized.Convs == 0):
				t.Errorf("%s: model %s: precision %s, quantized %+v; want int8 by default on CPU", tt.name, m.Name, m.Precision, m.Quantized)
			case !raw && m.Task == manifest.TaskRecognize && (m.Precision != PrecisionInt8 || m.Quantized == nil || m.Quantized.Convs == 0):
				t.Errorf("%s: model %s: precision %s, quantized %+v; want int8 by default on CPU", tt.name, m.Name, m.Precision, m.Quantized)
			}
		}
		res, err := e.Recognize(t.Context(), img, Options{})
		if err != nil {
			t.Fatal(err)
		}
		texts[tt.name] = joined(res)
		if c := cer(texts[tt.name], want); c > 0.01 {
			t.Errorf("%s: CER %.2f%%:\n%s", tt.name, 100*c, texts[tt.name])
		}
	}
	// Float rounding, and the int8 models' steps, may flip a near tie;
	// nothing more.
	for _, tt := range tests[1:] {
		if d := cer(texts[tt.name], texts[tests[0].name]); d > 0.005 {
			t.Errorf("%s and the models as shipped differ by %.2f%%: %s read\n%s\nthe original\n%s", tt.name, 100*d, tt.name, texts[tt.name], texts[tests[0].name])
		}
	}
}

// sized is an image of any size that holds no pixels, to test the size
// guard without allocating.
type sized struct{ image.Rectangle }

func (s sized) ColorModel() color.Model { return color.GrayModel }
func (s sized) Bounds() image.Rectangle { return s.Rectangle }
func (s sized) At(int, int) color.Color { return color.White }

func TestRecognizeRejectsImageSize(t *testing.T) {
	e := newTestEngine(t, Config{MaxImagePixels: 10_000_000, MaxImageSide: 8000})
	tests := []struct {
		name string
		img  image.Image
		want error
	}{
		{name: "empty", img: sized{image.Rect(0, 0, 0, 10)}, want: ErrEmptyImage},
		{name: "too many pixels", img: sized{image.Rect(0, 0, 5000, 5000)}, want: ErrImageTooLarge},
		{name: "side too long", img: sized{image.Rect(0, 0, 9000, 10)}, want: ErrImageTooLarge},
		{name: "absurd", img: sized{image.Rect(0, 0, 1<<30, 1<<30)}, want: ErrImageTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := e.Recognize(t.Context(), tt.img, Options{}); !errors.Is(err, tt.want) {
				t.Fatalf("Recognize: %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := e.Recognize(t.Context(), sized{image.Rect(0, 0, 100, 100)}, Options{DetLimitSideLen: 1000}); err == nil {
		t.Fatal("Recognize accepted a det limit that is not a multiple of 32")
	}
}

func TestRecognizeBatchesConcurrentCalls(t *testing.T) {
	// Two crops in all; the batch runs as soon as both are in.
	e := newTestEngine(t, Config{MaxBatchSize: 2, MaxBatchWait: 5 * time.Second, Runtime: ort.Config{PoolSize: 2}})
	face := newFace(t, "goregular", 24)
	texts := []string{"First caller", "Second caller"}
	var wg sync.WaitGroup
	got := make([]string, 2)
	start := time.Now()
	for i, s := range texts {
		img := render(face, 300, 70, block{x: 20, y: 15, lines: []string{s}})
		wg.Go(func() {
			res, err := e.Recognize(t.Context(), img, Options{})
			if err != nil {
				t.Errorf("Recognize: %v", err)
				return
			}
			got[i] = joined(res)
		})
	}
	wg.Wait()
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("took %v: the batch waited for its timeout instead of running full", d)
	}
	if s := e.BatchStats(); s.Runs != 1 || s.Crops != 2 {
		t.Fatalf("batch stats %+v, want one run of two crops", s)
	}
	for i := range texts {
		if got[i] != texts[i] {
			t.Errorf("caller %d got %q, want %q", i, got[i], texts[i])
		}
	}
}

func TestRecognizeCancelled(t *testing.T) {
	e := newTestEngine(t, Config{MaxBatchWait: time.Hour, MaxBatchSize: 1000})
	face := newFace(t, "goregular", 24)
	img := render(face, 300, 70, block{x: 20, y: 15, lines: []string{"Never read"}})

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := e.Recognize(ctx, img, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Recognize with a cancelled context: %v", err)
	}

	// With an hour of batch wait, the crop sits in the batcher until the
	// deadline; the call must come back right after it.
	ctx, cancel = context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := e.Recognize(ctx, img, Options{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recognize: %v, want deadline exceeded", err)
	}
	if late := time.Since(start) - 1500*time.Millisecond; late > 500*time.Millisecond {
		t.Fatalf("returned %v after the deadline", late)
	}
}

// uncalibrated returns a models folder with the shared one's files but no
// measured ranges.
func uncalibrated(t *testing.T) string {
	t.Helper()
	src := modeltest.Manifest(t)
	dir := t.TempDir()
	ents, err := os.ReadDir(src.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, ent := range ents {
		if !strings.HasPrefix(ent.Name(), "calibration-") {
			if err := os.Symlink(filepath.Join(src.Dir, ent.Name()), filepath.Join(dir, ent.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// TestDetPrecision measures the int8 detector's ranges on the calibration
// pages in a folder without any, keeps them there, and reads a page as the
// fp32 detector does, up to a near tie.
func TestDetPrecision(t *testing.T) {
	dir := uncalibrated(t)
	img, want := page(t, 620, 18)
	texts := map[string]string{}
	for _, prec := range []string{PrecisionFP32, PrecisionInt8} {
		e, err := NewEngine(t.Context(), Config{ModelDir: dir, DetPrecision: prec, RecPrecision: PrecisionFP32})
		if err != nil {
			t.Fatalf("det_precision %q: %v", prec, err)
		}
		det := e.Info().Models[0]
		if det.Task != manifest.TaskDetect || det.Precision != prec {
			t.Errorf("det_precision %q: Info says %s runs %s", prec, det.Task, det.Precision)
		}
		if prec == PrecisionInt8 && (det.Quantized == nil || det.Quantized.Convs == 0 || det.Quantized.LookupTables == 0) {
			t.Errorf("int8 detector quantized %+v, want convolutions and lookup tables", det.Quantized)
		}
		res, err := e.Recognize(t.Context(), img, Options{})
		_ = e.Close()
		if err != nil {
			t.Fatal(err)
		}
		texts[prec] = joined(res)
		if c := cer(texts[prec], want); c > 0.01 {
			t.Errorf("det_precision %q: CER %.2f%%:\n%s", prec, 100*c, texts[prec])
		}
		cache, _ := filepath.Glob(filepath.Join(dir, "calibration-*.json"))
		if wantFiles := map[string]int{PrecisionFP32: 0, PrecisionInt8: 1}[prec]; len(cache) != wantFiles {
			t.Errorf("det_precision %q: calibration files %v, want %d", prec, cache, wantFiles)
		}
	}
	if d := cer(texts[PrecisionInt8], texts[PrecisionFP32]); d > 0.005 {
		t.Errorf("int8 and fp32 detectors differ by %.2f%%: int8 read\n%s\nfp32\n%s", 100*d, texts[PrecisionInt8], texts[PrecisionFP32])
	}
}

// TestRecPrecision reads one page with the int8 and the fp32 recogniser:
// the same text up to a near tie, Info says which ran, the int8 engine
// keeps its measured ranges in the model folder and a later load reads
// them back (a damaged file is measured again), and an unknown precision is
// refused.
func TestRecPrecision(t *testing.T) {
	dir := uncalibrated(t)
	img, want := page(t, 620, 18)
	read := func(prec string) (string, ModelInfo) {
		t.Helper()
		e, err := NewEngine(t.Context(), Config{ModelDir: dir, RecPrecision: prec, DetPrecision: PrecisionFP32})
		if err != nil {
			t.Fatalf("rec_precision %q: %v", prec, err)
		}
		defer e.Close()
		res, err := e.Recognize(t.Context(), img, Options{})
		if err != nil {
			t.Fatal(err)
		}
		text := joined(res)
		if c := cer(text, want); c > 0.01 {
			t.Errorf("rec_precision %q: CER %.2f%%:\n%s", prec, 100*c, text)
		}
		return text, e.Info().Models[1]
	}
	f32, info := read(PrecisionFP32)
	if info.Precision != PrecisionFP32 || info.Quantized != nil {
		t.Errorf("fp32: info %+v", info)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "calibration-*.json")); len(m) != 0 {
		t.Errorf("fp32 wrote %v", m)
	}
	i8, info := read(PrecisionInt8)
	if info.Precision != PrecisionInt8 || info.Quantized == nil || info.Quantized.Convs == 0 || info.Quantized.HardSigmoids == 0 {
		t.Errorf("int8: info %+v, quantized %+v", info, info.Quantized)
	}
	// Full-range weights lost 2.6 points of CER where the CPU's int8
	// kernels saturate (AVX2 without VNNI).
	if want := map[bool]int{false: 8, true: 7}[ort.Int8PairsSaturate()]; info.Quantized != nil && info.Quantized.WeightBits != want {
		t.Errorf("int8: %d-bit weights, want %d on this CPU (pairs saturate: %v)", info.Quantized.WeightBits, want, ort.Int8PairsSaturate())
	}
	if d := cer(i8, f32); d > 0.005 {
		t.Errorf("int8 and fp32 differ by %.2f%%: int8 read\n%s\nfp32\n%s", 100*d, i8, f32)
	}
	cache, _ := filepath.Glob(filepath.Join(dir, "calibration-*.json"))
	if len(cache) != 1 {
		t.Fatalf("calibration files %v, want one", cache)
	}
	b, err := os.ReadFile(cache[0])
	if err != nil {
		t.Fatal(err)
	}
	var ranges map[string]graphopt.Range
	if err := json.Unmarshal(b, &ranges); err != nil || len(ranges) == 0 {
		t.Fatalf("calibration file: %v, %d ranges", err, len(ranges))
	}
	// Read back: the same ranges give the same text.
	if again, _ := read(PrecisionInt8); again != i8 {
		t.Errorf("int8 from cached ranges read\n%s\nfirst load\n%s", again, i8)
	}
	// A damaged file is measured again and rewritten.
	if err := os.WriteFile(cache[0], []byte("{\"x\": "), 0o644); err != nil {
		t.Fatal(err)
	}
	if again, _ := read(PrecisionInt8); again != i8 {
		t.Errorf("int8 after a damaged cache read\n%s\nfirst load\n%s", again, i8)
	}
	if b2, _ := os.ReadFile(cache[0]); !bytes.Equal(b2, b) {
		t.Errorf("damaged calibration file not rewritten with the same ranges")
	}
	if _, err := NewEngine(t.Context(), Config{ModelDir: dir, RecPrecision: "fp16"}); err == nil || !strings.Contains(err.Error(), "rec_precision") {
		t.Errorf("rec_precision fp16: %v, want a validation error", err)
	}
	if _, err := NewEngine(t.Context(), Config{ModelDir: dir, DetPrecision: "int4"}); err == nil || !strings.Contains(err.Error(), "det_precision") {
		t.Errorf("det_precision int4: %v, want a validation error", err)
	}
}
