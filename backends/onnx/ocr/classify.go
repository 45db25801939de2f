package ocr

import (
	"context"
	"fmt"
	"math"

	"github.com/docstrange/mesh/backends/onnx/manifest"
	"github.com/docstrange/mesh/backends/onnx/ort"
)

// classifier decides whether a text crop is upside down (0° or 180°).
type classifier struct {
	sess   *ort.Session
	input  manifest.Input
	p      manifest.Classify
	width  int
	height int
}

// orient turns every crop the classifier is confident is upside down, in
// place, and returns how many it turned.
func (c *classifier) orient(ctx context.Context, crops []*raster) (int, error) {
	if len(crops) == 0 {
		return 0, nil
	}
	plane := 3 * c.height * c.width
	data := make([]float32, len(crops)*plane)
	for i, cr := range crops {
		w := min(int(math.Ceil(float64(c.height)*float64(cr.w)/float64(cr.h))), c.width)
		cr.resize(max(w, 1), c.height).normalizeInto(data[i*plane:], c.width, c.input.Scale, c.input.Mean, c.input.Std)
	}
	out, err := c.sess.Run(ctx, ort.Tensor{Shape: []int64{int64(len(crops)), 3, int64(c.height), int64(c.width)}, Data: data})
	if err != nil {
		return 0, fmt.Errorf("classifying orientation: %w", err)
	}
	n := len(c.p.Labels)
	turned := 0
	for i, cr := range crops {
		probs := out[0].Data[i*n : (i+1)*n]
		best := 0
		for j, p := range probs {
			if p > probs[best] {
				best = j
			}
		}
		if c.p.Labels[best] == "180" && probs[best] > c.p.Thresh {
			cr.rotate180()
			turned++
		}
	}
	return turned, nil
}
