package graphopt

import (
	"fmt"
	"math"

	"github.com/docstrange/mesh/backends/onnx/internal/onnxpb"
)

// convWeights reads a Conv's weight and bias, the bias zero when absent.
func (g *graph) convWeights(conv *onnxpb.NodeProto) (w []float32, wDims []int64, b []float32, ok bool) {
	if len(conv.Input) < 2 {
		return nil, nil, nil, false
	}
	w, wDims, ok = g.floats(conv.Input[1])
	if !ok || len(wDims) < 3 || wDims[0] < 1 {
		return nil, nil, nil, false
	}
	out := int(wDims[0])
	if len(conv.Input) >= 3 && conv.Input[2] != "" {
		b, _, ok = g.floats(conv.Input[2])
		if !ok || len(b) != out {
			return nil, nil, nil, false
		}
	} else {
		b = make([]float32, out)
	}
	return w, wDims, b, true
}

// setConvWeights stores new weights and bias as fresh constants.
func (g *graph) setConvWeights(conv *onnxpb.NodeProto, w []float32, wDims []int64, b []float32) {
	conv.Input[1] = g.addConst(conv.Input[1], wDims, w)
	bias := g.addConst(conv.Output[0]+".bias", []int64{wDims[0]}, b)
	if len(conv.Input) >= 3 {
		conv.Input[2] = bias
	} else {
		conv.Input = append(conv.Input, bias)
	}
}

func (g *graph) live(n *onnxpb.NodeProto, op string) bool {
	return n != nil && !g.dead[n] && n.OpType == op && n.Domain == ""
}

// foldConvAffine folds Conv → Mul(a) → Add(b), scalars a and b, into the
// Conv. The Add is optional.
func (g *graph) foldConvAffine() int {
	count := 0
	for _, conv := range g.g.Node {
		if !g.live(conv, "Conv") || len(conv.Output) != 1 {
			continue
		}
		mul := g.only(conv.Output[0])
		if !g.live(mul, "Mul") {
			continue
		}
		x, a, ok := g.operand(mul)
		if !ok || x != conv.Output[0] {
			continue
		}
		w, wDims, b, ok := g.convWeights(conv)
		if !ok {
			continue
		}
		shift := float32(0)
		out := mul.Output[0]
		if add := g.only(mul.Output[0]); g.live(add, "Add") {
			if y, v, ok := g.operand(add); ok && y == mul.Output[0] {
				shift = v
				out = add.Output[0]
				g.kill(add)
			}
		}
		for i := range w {
			w[i] *= a
		}
		for i := range b {
			b[i] = b[i]*a + shift
		}
		g.setConvWeights(conv, w, wDims, b)
		conv.Output[0] = out
		g.producer[out] = conv
		g.kill(mul)
		count++
	}
	return count
}

// hardSwish replaces x·Clip(x+3, 0, 6)/6 with x·HardSigmoid(x; 1/6, ½).
func (g *graph) hardSwish() int {
	count := 0
	for _, add := range g.g.Node {
		if !g.live(add, "Add") {
			continue
		}
		x, three, ok := g.operand(add)
		if !ok || three != 3 {
			continue
		}
		clip := g.only(add.Output[0])
		if !g.live(clip, "Clip") || !g.clipsTo(clip, 0, 6) {
			continue
		}
		mul := g.only(clip.Output[0])
		if !g.live(mul, "Mul") || len(mul.Input) != 2 ||
			!(mul.Input[0] == x && mul.Input[1] == clip.Output[0] || mul.Input[1] == x && mul.Input[0] == clip.Output[0]) {
			continue
		}
		div := g.only(mul.Output[0])
		if !g.live(div, "Div") || len(div.Input) != 2 || div.Input[0] != mul.Output[0] {
			continue
		}
		if six, ok := g.scalar(div.Input[1]); !ok || six != 6 {
			continue
		}
		add.OpType = "HardSigmoid"
		add.Input = []string{x}
		add.Attribute = []*onnxpb.AttributeProto{
			{Name: "alpha", Type: onnxpb.AttributeProto_FLOAT, F: 1.0 / 6},
			{Name: "beta", Type: onnxpb.AttributeProto_FLOAT, F: 0.5},
		}
		mul.Input = []string{x, add.Output[0]}
		mul.Output = []string{div.Output[0]}
		g.producer[div.Output[0]] = mul
		g.kill(clip, div)
		count++
	}
	return count
}

// clipsTo reports whether a Clip has bounds lo and hi, as opset < 11
// attributes or opset ≥ 11 constant inputs.
func (g *graph) clipsTo(clip *onnxpb.NodeProto, lo, hi float32) bool {
	minA, maxA := attr(clip, "min"), attr(clip, "max")
	if minA != nil || maxA != nil {
		return minA != nil && maxA != nil && minA.F == lo && maxA.F == hi
	}
	if len(clip.Input) != 3 {
		return false
	}
	l, ok1 := g.scalar(clip.Input[1])
	h, ok2 := g.scalar(clip.Input[2])
	return ok1 && ok2 && l == lo && h == hi
}

// foldAffineConv folds Mul(c) → Add(d) → Conv into the Conv: c always,
// d into the bias when the Conv does not pad, which makes every output
// position see d through all of its weights.
func (g *graph) foldAffineConv() (int, error) {
	count := 0
	for _, mul := range g.g.Node {
		if !g.live(mul, "Mul") {
			continue
		}
		z, c, ok := g.operand(mul)
		if !ok || c == 0 || math.IsInf(float64(c), 0) || math.IsNaN(float64(c)) {
			continue
		}
		add := g.only(mul.Output[0])
		if !g.live(add, "Add") {
			continue
		}
		y, d, ok := g.operand(add)
		if !ok || y != mul.Output[0] {
			continue
		}
		conv := g.only(add.Output[0])
		if !g.live(conv, "Conv") || conv.Input[0] != add.Output[0] {
			continue
		}
		w, wDims, b, ok := g.convWeights(conv)
		if !ok {
			continue
		}
		pads, err := g.pads(conv)
		if err != nil {
			return count, err
		}
		per := len(w) / len(b)
		for o := range b {
			sum := float32(0)
			for i := o * per; i < (o+1)*per; i++ {
				sum += w[i]
				w[i] *= c
			}
			if !pads {
				b[o] += d * sum
			}
		}
		g.setConvWeights(conv, w, wDims, b)
		g.kill(mul)
		if pads {
			// Zero padding of z+d/c times c·W equals zero padding of
			// c·z+d times W only if the Add stays before the padding.
			add.Input = []string{z, g.addConst(add.Output[0]+".shift", nil, []float32{d / c})}
			g.consumers[z] = append(g.consumers[z], add)
		} else {
			g.kill(add)
			conv.Input[0] = z
			g.consumers[z] = append(g.consumers[z], conv)
		}
		count++
	}
	return count, nil
}

// pads reports whether a Conv pads its input.
func (g *graph) pads(conv *onnxpb.NodeProto) (bool, error) {
	if a := attr(conv, "auto_pad"); a != nil {
		switch s := string(a.S); s {
		case "", "NOTSET", "VALID":
		case "SAME_UPPER", "SAME_LOWER":
			return true, nil
		default:
			return false, fmt.Errorf("conv %s: unknown auto_pad %q", conv.Name, s)
		}
	}
	if a := attr(conv, "pads"); a != nil {
		for _, p := range a.Ints {
			if p != 0 {
				return true, nil
			}
		}
	}
	return false, nil
}

// blocked keeps hard-swish blocks in ONNX Runtime's blocked channel layout
// (NCHWc). Its layout transformer handles Conv, Add and Mul of two blocked
// tensors, and Relu, Sigmoid and Tanh, but neither HardSigmoid nor an Add of
// a scalar: each of those made it reorder the convolution output to NCHW and
// back, about a fifth of a recognition run. A depthwise 1×1 Conv with unit
// weights computes the same values as a blocked operator, and ONNX Runtime
// fuses a Conv's HardSigmoid into it; the scalar shift becomes that Conv's
// bias.
func (g *graph) blocked() int {
	count := 0
	nodes := append([]*onnxpb.NodeProto(nil), g.g.Node...)
	var out []*onnxpb.NodeProto
	for _, n := range nodes {
		switch {
		case g.live(n, "HardSigmoid") && len(n.Input) == 1:
			if c := g.channels(n.Input[0]); c > 0 {
				out = append(out, g.depthwise(n.Input[0], c, 0))
				n.Input[0] = out[len(out)-1].Output[0]
				count++
			}
		case g.live(n, "Add"):
			if x, shift, ok := g.operand(n); ok {
				if c := g.channels(x); c > 0 {
					dw := g.depthwise(x, c, shift)
					dw.Output = n.Output
					g.kill(n)
					n = dw
					count++
				}
			}
		}
		out = append(out, n)
	}
	g.g.Node = out
	return count
}

// depthwise returns a depthwise 1×1 Conv of c channels with unit weights
// and bias b over x.
func (g *graph) depthwise(x string, c int64, b float32) *onnxpb.NodeProto {
	ones := make([]float32, c)
	bias := make([]float32, c)
	for i := range ones {
		ones[i] = 1
		bias[i] = b
	}
	g.fresh++
	name := fmt.Sprintf("%s.graphopt.dw.%d", x, g.fresh)
	return &onnxpb.NodeProto{
		OpType: "Conv", Name: name,
		Input:  []string{x, g.addConst(name+".w", []int64{c, 1, 1, 1}, ones), g.addConst(name+".b", []int64{c}, bias)},
		Output: []string{name},
		Attribute: []*onnxpb.AttributeProto{
			{Name: "group", Type: onnxpb.AttributeProto_INT, I: c},
			{Name: "kernel_shape", Type: onnxpb.AttributeProto_INTS, Ints: []int64{1, 1}},
		},
	}
}

// channels is the channel count of a tensor produced by a Conv, through
// element-wise operators that keep its shape; 0 when unknown.
func (g *graph) channels(name string) int64 {
	for range 16 {
		p := g.producer[name]
		if p == nil || g.dead[p] && p.OpType != "Conv" {
			return 0
		}
		switch p.OpType {
		case "Conv":
			if _, dims, ok := g.floats(p.Input[1]); ok && len(dims) == 4 {
				return dims[0]
			}
			return 0
		case "HardSigmoid", "Relu", "Sigmoid":
			name = p.Input[0]
		case "Mul", "Add":
			if x, _, ok := g.operand(p); ok {
				name = x
			} else if len(p.Input) == 2 {
				name = p.Input[0]
			} else {
				return 0
			}
		default:
			return 0
		}
	}
	return 0
}
