package ocr

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"os"

	"github.com/google/renameio/v2"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goitalic"
	"golang.org/x/image/font/gofont/gomedium"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/docstrange/mesh/backends/onnx/graphopt"
	"github.com/docstrange/mesh/backends/onnx/manifest"
	"github.com/docstrange/mesh/backends/onnx/ort"
)

// Recogniser precisions (Config.RecPrecision).
const (
	PrecisionFP32 = "fp32"
	PrecisionInt8 = "int8"
)

// calibrationText is what the int8 recogniser's activation ranges are
// measured on: prose, figures, punctuation and capitals, none of it the
// tests' or the bench's text.
var calibrationText = []string{
	"Revenue rose 14.2% to $3,981,507.",
	"WHEREAS Section 4(b) shall apply;",
	"Patient ID: 00-4471-Q, 2.5 mg/kg",
	"the keeper wrote by candlelight.",
	"E-mail: info@example.org | ext. 12",
	"Zebras & yaks: quick, hazy. Why?",
}

// calibrationFaces are the typefaces and sizes, in pixels, of the
// calibration lines: text sizes from small print to headings.
var calibrationFaces = []struct {
	ttf  []byte
	size float64
}{
	{goregular.TTF, 14}, {gobold.TTF, 19}, {goitalic.TTF, 24},
	{gomono.TTF, 17}, {gomedium.TTF, 30}, {goregular.TTF, 21},
}

// calibrationLines renders the calibration text, one line per face, as
// the detector crops lines: dark text on light paper, about 1.45 times as
// tall as the font size.
func calibrationLines() ([]*raster, error) {
	var out []*raster
	for i, f := range calibrationFaces {
		ft, err := opentype.Parse(f.ttf)
		if err != nil {
			return nil, fmt.Errorf("parsing calibration font: %w", err)
		}
		face, err := opentype.NewFace(ft, &opentype.FaceOptions{Size: f.size, DPI: 72, Hinting: font.HintingFull})
		if err != nil {
			return nil, fmt.Errorf("opening calibration face: %w", err)
		}
		text := calibrationText[i%len(calibrationText)]
		m := face.Metrics()
		h := int(math.Round(1.45 * f.size))
		pad := int(f.size / 3)
		w := font.MeasureString(face, text).Ceil() + 2*pad
		img := image.NewGray(image.Rect(0, 0, w, h))
		draw.Draw(img, img.Bounds(), image.NewUniform(color.Gray{Y: 250}), image.Point{}, draw.Src)
		d := font.Drawer{Dst: img, Src: image.NewUniform(color.Gray{Y: 20}), Face: face}
		top := (fixed.I(h) - m.Ascent - m.Descent) / 2
		d.Dot = fixed.Point26_6{X: fixed.I(pad), Y: top + m.Ascent}
		d.DrawString(text)
		_ = face.Close()
		out = append(out, toRaster(img))
	}
	return out, nil
}

// calibrationVersion changes whenever calibrationText, calibrationFaces or
// the way lines and pages are rendered changes, so that cached ranges
// measured on other inputs are not reused.
const calibrationVersion = 2

// calibrationPage lays the calibration lines out as a detector sees a
// page: a 150 dpi A4 sheet, two columns of lines at their own sizes, then
// the same lines twice as large, and paper below; scale resizes the sheet.
func calibrationPage(lines []*raster, scale float64) *raster {
	const w, h, margin = 1240, 1754, 90
	page := &raster{w: w, h: h, pix: make([]uint8, 3*w*h), gray: true}
	for i := range page.pix {
		page.pix[i] = 250
	}
	y := margin
	place := func(l *raster, x int) {
		for r := range l.h {
			if y+r >= h {
				return
			}
			n := min(l.w, w-margin-x)
			copy(page.pix[3*((y+r)*w+x):3*((y+r)*w+x+n)], l.pix[3*r*l.w:3*(r*l.w+n)])
		}
	}
	for _, grow := range []float64{1, 2} {
		for i := 0; i+1 < len(lines); i += 2 {
			a, b := lines[i].resize(int(grow*float64(lines[i].w)), int(grow*float64(lines[i].h))), lines[i+1].resize(int(grow*float64(lines[i+1].w)), int(grow*float64(lines[i+1].h)))
			place(a, margin)
			place(b, w/2+margin/2)
			y += max(a.h, b.h) + a.h/2
		}
	}
	if scale == 1 {
		return page
	}
	return page.resize(int(scale*w), int(scale*h))
}

// quantize returns a model quantized to int8 for the CPU (graphopt's
// static QDQ quantization, with hard-swish as a lookup table where the
// runtime has the operator). Its activation ranges are measured on the
// inputs samples gives through a calibration session of rt, which takes
// seconds, so they are kept in the model folder (calibration-<key>.json)
// and read back on the next load; a folder that cannot be written only
// means measuring again. setting names the configuration that turns it
// off, for errors.
func (e *Engine) quantize(ctx context.Context, m manifest.Model, model []byte, rt ort.Config, setting string, samples func() ([]ort.Tensor, error)) ([]byte, graphopt.QuantStats, error) {
	fail := func(err error) ([]byte, graphopt.QuantStats, error) {
		return nil, graphopt.QuantStats{}, fmt.Errorf("quantizing model %q (set %s to fp32 to load it as it is): %w", m.Name, setting, err)
	}
	prepared, err := graphopt.Prepare(model)
	if err != nil {
		return fail(err)
	}
	key := sha256.Sum256(fmt.Appendf(nil, "%s|%d|%s", m.SHA256, calibrationVersion, e.rt.Version()))
	cache := e.man.Path(fmt.Sprintf("calibration-%x.json", key[:8]))
	opt := graphopt.QuantOptions{ReduceRange: ort.Int8PairsSaturate()}
	if e.rt.LookupTable() == nil {
		opt.LookupDomain = ort.LookupDomain
	}
	var ranges map[string]graphopt.Range
	if b, err := os.ReadFile(cache); err == nil && json.Unmarshal(b, &ranges) == nil {
		q, st, err := graphopt.Quantize(prepared, ranges, opt)
		if err == nil {
			return q, st, nil
		}
		// A stale or damaged file: measure again.
	}
	if ranges, err = e.calibrate(ctx, m, prepared, rt, samples); err != nil {
		return fail(err)
	}
	q, st, err := graphopt.Quantize(prepared, ranges, opt)
	if err != nil {
		return fail(err)
	}
	if b, err := json.Marshal(ranges); err == nil {
		_ = renameio.WriteFile(cache, b, 0o644)
	}
	return q, st, nil
}

// recognizerSamples are the calibration lines as the recogniser reads
// them, one a run: a calibration session hands back every tensor it
// reports, about 120 MB for a line, and a batch of six took longer than
// six runs.
func recognizerSamples(m manifest.Model) func() ([]ort.Tensor, error) {
	return func() ([]ort.Tensor, error) {
		lines, err := calibrationLines()
		if err != nil {
			return nil, err
		}
		p := m.Recognize
		h := p.ImageHeight
		var out []ort.Tensor
		for _, l := range lines {
			rw := int(math.Ceil(float64(h) * float64(l.w) / float64(l.h)))
			w := (max(rw, p.ImageWidth) + p.FrameStride - 1) / p.FrameStride * p.FrameStride
			data := make([]float32, 3*h*w)
			l.resize(rw, h).normalizeInto(data, w, m.Input.Scale, m.Input.Mean, m.Input.Std)
			out = append(out, ort.Tensor{Shape: []int64{1, 3, int64(h), int64(w)}, Data: data})
		}
		return out, nil
	}
}

// detectorCalibrationLimit caps the calibration pages' longer side. A
// calibration run hands back every tensor of the region at once; at the
// default limit (960) the three pages took the first load's peak memory
// from 0.56 to 1.58 GB (640: 0.77 GB), and activation ranges hardly
// depend on the page's size in pixels.
const detectorCalibrationLimit = 640

// detectorSamples are calibration pages as the detector reads them: the
// sheet as is, and at half and double its size.
func detectorSamples(d *detector) func() ([]ort.Tensor, error) {
	return func() ([]ort.Tensor, error) {
		lines, err := calibrationLines()
		if err != nil {
			return nil, err
		}
		var out []ort.Tensor
		for _, scale := range []float64{0.5, 1, 2} {
			page := calibrationPage(lines, scale)
			rw, rh := d.inputSize(page.w, page.h, detectorCalibrationLimit)
			data := make([]float32, 3*rw*rh)
			page.resize(rw, rh).normalizeInto(data, rw, d.input.Scale, d.input.Mean, d.input.Std)
			out = append(out, ort.Tensor{Shape: []int64{1, 3, int64(rh), int64(rw)}, Data: data})
		}
		return out, nil
	}
}

// calibrate runs the samples through the prepared model and returns the
// range of every tensor graphopt.Calibration reports.
func (e *Engine) calibrate(ctx context.Context, m manifest.Model, prepared []byte, rt ort.Config, samples func() ([]ort.Tensor, error)) (map[string]graphopt.Range, error) {
	calModel, _, err := graphopt.Calibration(prepared)
	if err != nil {
		return nil, err
	}
	rt.PoolSize = 1
	cal, err := e.rt.NewSessionFromBytes(ctx, m.File+" (calibration)", calModel, rt)
	if err != nil {
		return nil, err
	}
	defer cal.Close()
	inputs, err := samples()
	if err != nil {
		return nil, err
	}
	ranges := map[string]graphopt.Range{}
	for _, in := range inputs {
		err := cal.Visit(ctx, func(i int, t ort.Tensor) error {
			name := cal.Outputs()[i]
			r, ok := ranges[name]
			if !ok {
				r = graphopt.EmptyRange()
			}
			ranges[name] = r.Widen(t.Data)
			return nil
		}, in)
		if err != nil {
			return nil, err
		}
	}
	return ranges, nil
}
