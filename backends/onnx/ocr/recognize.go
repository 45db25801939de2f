package ocr

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/docstrange/mesh/backends/onnx/manifest"
	"github.com/docstrange/mesh/backends/onnx/ort"
)

// recognizer runs the CTC text recogniser on batches of line crops.
type recognizer struct {
	sess     *ort.Session
	input    manifest.Input
	p        manifest.Recognize
	labels   []string
	maxWidth int
	// maxSpread bounds the width ratio of the widest to the narrowest crop
	// padded into one session run, so a short word does not pay for a long
	// line's width.
	maxSpread float64
	// onRun, when set, is told the size of every session run (for tests and
	// metrics).
	onRun func(n int)
	// outputs pools output buffers (*[]float32) between runs; a line's
	// 6625-class output is megabytes.
	outputs sync.Pool
}

// recResult is one decoded crop.
type recResult struct {
	chars []ctcChar
	// ink has, per column of the crop as fed to the model, whether the
	// column holds ink; nil when the crop has too little contrast to tell.
	ink []bool
	// frameW is how many of those columns one output frame covers.
	frameW float64
	// height is the crop height fed to the model.
	height int
	// space has, per output frame, the probability of the space class,
	// which tells dropped word spaces apart; nil when the dictionary has
	// none.
	space []float32
}

// run recognises crops, grouping those of similar aspect ratio into one
// session run each; results are in the order of crops.
func (rc *recognizer) run(ctx context.Context, crops []*raster) ([]recResult, error) {
	order := make([]int, len(crops))
	for i := range order {
		order[i] = i
	}
	ratio := func(i int) float64 { return float64(crops[i].w) / float64(crops[i].h) }
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(ratio(a), ratio(b)) })
	res := make([]recResult, len(crops))
	for start := 0; start < len(order); {
		end := start + 1
		for end < len(order) && ratio(order[end]) <= rc.maxSpread*max(ratio(order[start]), 1) {
			end++
		}
		group := order[start:end]
		out, err := rc.runGroup(ctx, crops, group)
		if err != nil {
			return nil, err
		}
		for k, i := range group {
			res[i] = out[k]
		}
		start = end
	}
	return res, nil
}

func (rc *recognizer) runGroup(ctx context.Context, crops []*raster, group []int) ([]recResult, error) {
	h := rc.p.ImageHeight
	maxRatio := float64(rc.p.ImageWidth) / float64(h)
	for _, i := range group {
		maxRatio = max(maxRatio, float64(crops[i].w)/float64(crops[i].h))
	}
	// A width in whole output frames lets the output be allocated here.
	stride := rc.p.FrameStride
	w := (min(int(float64(h)*maxRatio), rc.maxWidth) + stride - 1) / stride * stride
	plane := 3 * h * w
	data := make([]float32, len(group)*plane)
	inks := make([][]bool, len(group))
	for k, i := range group {
		cr := crops[i]
		rw := min(int(math.Ceil(float64(h)*float64(cr.w)/float64(cr.h))), w)
		in := cr.resize(max(rw, 1), h)
		in.normalizeInto(data[k*plane:], w, rc.input.Scale, rc.input.Mean, rc.input.Std)
		inks[k] = in.inkColumns()
	}
	if rc.onRun != nil {
		rc.onRun(len(group))
	}
	frames, classes := w/stride, len(rc.labels)
	buf := rc.outputs.Get().(*[]float32)
	defer rc.outputs.Put(buf)
	if n := len(group) * frames * classes; cap(*buf) < n {
		*buf = make([]float32, n)
	} else {
		*buf = (*buf)[:n]
	}
	out := ort.Tensor{Shape: []int64{int64(len(group)), int64(frames), int64(classes)}, Data: *buf}
	in := ort.Tensor{Shape: []int64{int64(len(group)), 3, int64(h), int64(w)}, Data: data}
	if err := rc.sess.RunInto(ctx, []ort.Tensor{out}, in); err != nil {
		return nil, fmt.Errorf("recognizing %d crops into [%d %d %d] (frame_stride %d): %w", len(group), len(group), frames, classes, stride, err)
	}
	space := spaceClass(rc.labels)
	res := make([]recResult, len(group))
	for k := range group {
		probs := out.Data[k*frames*classes : (k+1)*frames*classes]
		res[k] = recResult{
			chars: ctcDecode(probs, frames, classes, rc.labels), space: classProbs(probs, frames, classes, space),
			ink: inks[k], frameW: float64(w) / float64(frames), height: h,
		}
	}
	return res, nil
}
