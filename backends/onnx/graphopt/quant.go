package graphopt

// Static int8 quantization of a PP-LCNetV3 backbone for ONNX Runtime on
// CPU.
//
// The recogniser's convolutions already ran near the CPU's float peak, so
// the one large step left was 8-bit arithmetic (VNNI on x86): per line,
// ONNX Runtime's QLinearConv took a third of the float convolutions' time.
// No Go library quantizes ONNX graphs and ONNX Runtime's own quantizer is
// Python, so this does what its quantize_static does in QDQ format, for the
// operators these backbones are made of:
//
//   - Prepare applies the exact rewrites (BatchNormalization and the
//     affine blocks folded into the convolutions, hard-swish as
//     HardSigmoid·x) but not the blocked-layout pass, which only suits
//     float kernels.
//   - Calibration adds the region's tensors as graph outputs; the caller
//     runs it over representative inputs and records each tensor's range.
//   - Quantize puts a QuantizeLinear/DequantizeLinear pair with that range
//     (uint8, asymmetric) on every tensor of the region, stores Conv
//     weights as per-output-channel int8 and biases as int32, and leaves
//     ONNX Runtime to fuse DQ → op → Q into QLinearConv, QLinearAdd,
//     QLinearMul and QLinearGlobalAveragePool.
//
// The region is the graph's leading run of Conv, Add, Mul, HardSigmoid,
// GlobalAveragePool, Relu, Resize and Concat nodes: the backbone, and for
// the detector its feature pyramid too. The rest (pooling, the
// SVTR neck, the CTC head) stays float, reading the backbone's output
// through one DequantizeLinear.
//
// HardSigmoid(x; 1/6, 1/2) has no quantized kernel. It equals
// Clip(x+3, 0, 6)/6, so it becomes Add(x, 3) quantized over [0, 6], which
// clips by saturation, read back at 1/255 instead of 6/255 a step, which
// divides by 6: hard-swish becomes QLinearAdd then QLinearMul.
//
// Q/DQ nodes are in the com.microsoft domain, whose DequantizeLinear takes
// a per-channel axis at any opset; QLinearConv needs the default opset at
// 10 or later, so an older model is moved to 10 and its Slice nodes, the
// one operator in these models that changed, get their bounds as inputs.

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/docstrange/mesh/backends/onnx/internal/onnxpb"
)

// msDomain is ONNX Runtime's contrib operator domain.
const msDomain = "com.microsoft"

// Range is a tensor's observed value range.
type Range struct{ Min, Max float32 }

// Widen returns r grown to take in v.
func (r Range) Widen(v []float32) Range {
	for _, x := range v {
		r.Min, r.Max = min(r.Min, x), max(r.Max, x)
	}
	return r
}

// EmptyRange is the range of no values, which Widen grows from.
func EmptyRange() Range {
	return Range{Min: float32(math.Inf(1)), Max: float32(math.Inf(-1))}
}

// QuantStats describes a quantized model.
type QuantStats struct {
	// Convs is how many convolutions have int8 weights.
	Convs int `json:"convs"`
	// Tensors is how many tensors go through a quantize pair.
	Tensors int `json:"tensors"`
	// HardSigmoids is how many HardSigmoid nodes became quantized Adds.
	HardSigmoids int `json:"hard_sigmoids"`
	// LookupTables is how many hard-swishes became one LookupTable.
	LookupTables int `json:"lookup_tables,omitempty"`
	// WeightBits is how many bits the convolution weights use: 8, or 7
	// with QuantOptions.ReduceRange.
	WeightBits int `json:"weight_bits"`
}

// QuantOptions shapes a quantized model.
type QuantOptions struct {
	// LookupDomain, when set, is the operator domain of a LookupTable
	// operator the runtime has (uint8 input, 256-entry uint8 table, uint8
	// output of the input's shape), and every hard-swish x·HardSigmoid(x)
	// becomes one table from x's codes to the product's: one pass over
	// the tensor instead of a QLinearAdd and a QLinearMul. Default "" (the
	// standard operators only).
	LookupDomain string
	// ReduceRange stores Conv weights in 7 bits (±63) instead of 8, as
	// ONNX Runtime's quantizer does with reduce_range. x86 CPUs without
	// VNNI multiply uint8 activations by int8 weights with vpmaddubsw,
	// which adds each pair of products in int16 and saturates: 255·127·2
	// overflows it, and on an AVX2 machine the int8 recogniser's character
	// error rate went from 0.25% to 2.85%. With 7 bits a pair is at most
	// 255·63·2, which fits. Default false (VNNI adds in int32).
	ReduceRange bool
}

func parse(model []byte) (*onnxpb.ModelProto, error) {
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(model, &m); err != nil {
		return nil, fmt.Errorf("parsing model: %w", err)
	}
	if m.Graph == nil {
		return nil, fmt.Errorf("parsing model: no graph")
	}
	return &m, nil
}

func encode(m *onnxpb.ModelProto) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding model: %w", err)
	}
	return b, nil
}

// Prepare applies the exact rewrites that suit a quantized graph: Conv →
// BatchNormalization and the affine blocks folded into the convolutions,
// hard-swish as HardSigmoid·x.
func Prepare(model []byte) ([]byte, error) {
	m, err := parse(model)
	if err != nil {
		return nil, err
	}
	g := newGraph(m.Graph)
	g.foldConvBN()
	g.foldConvAffine()
	g.hardSwish()
	if _, err := g.foldAffineConv(); err != nil {
		return nil, err
	}
	g.compact()
	return encode(m)
}

// quantOps are the operators a quantized region is made of.
var quantOps = map[string]bool{
	"Conv": true, "Add": true, "Mul": true, "HardSigmoid": true, "GlobalAveragePool": true, "Relu": true,
	"Resize": true, "Concat": true,
}

// dataInputs is how many leading inputs of n carry activations: a Conv's
// weights and bias and a Resize's roi, scales and sizes are parameters.
func dataInputs(n *onnxpb.NodeProto) int {
	switch n.OpType {
	case "Conv", "Resize":
		return 1
	}
	return len(n.Input)
}

// region is the graph's leading run of quantizable nodes, Constant nodes
// skipped.
func (g *graph) region() []*onnxpb.NodeProto {
	var out []*onnxpb.NodeProto
	for _, n := range g.g.Node {
		if g.dead[n] || n.OpType == "Constant" && n.Domain == "" {
			continue
		}
		if !quantOps[n.OpType] || n.Domain != "" {
			break
		}
		out = append(out, n)
	}
	return out
}

// regionTensors lists the tensors the region reads and writes, weights and
// other constants left out, in graph order.
func (g *graph) regionTensors() []string {
	seen := map[string]bool{"": true}
	var out []string
	for _, n := range g.region() {
		for _, t := range append(append([]string(nil), n.Input[:dataInputs(n)]...), n.Output...) {
			if _, _, isConst := g.floats(t); isConst || seen[t] {
				continue
			}
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// Calibration returns a prepared model with every tensor of its region
// added as a graph output, and those tensors' names, whose ranges Quantize
// needs.
func Calibration(prepared []byte) ([]byte, []string, error) {
	m, err := parse(prepared)
	if err != nil {
		return nil, nil, err
	}
	g := newGraph(m.Graph)
	names := g.regionTensors()
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("calibrating: the graph starts with no quantizable operator")
	}
	for _, t := range names {
		if g.outputs[t] {
			continue
		}
		m.Graph.Output = append(m.Graph.Output, &onnxpb.ValueInfoProto{Name: t, Type: &onnxpb.TypeProto{
			Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: int32(onnxpb.TensorProto_FLOAT)}},
		}})
	}
	b, err := encode(m)
	return b, names, err
}

// Quantize returns the prepared model with its region quantized to the
// given ranges (see the file comment). Every tensor Calibration named must
// have a finite range.
func Quantize(prepared []byte, ranges map[string]Range, opt QuantOptions) ([]byte, QuantStats, error) {
	m, err := parse(prepared)
	if err != nil {
		return nil, QuantStats{}, err
	}
	g := newGraph(m.Graph)
	for _, t := range g.regionTensors() {
		r, ok := ranges[t]
		if !ok || math.IsInf(float64(r.Min), 0) || math.IsInf(float64(r.Max), 0) || r.Min != r.Min || r.Max != r.Max {
			return nil, QuantStats{}, fmt.Errorf("quantizing: tensor %q has no calibrated range", t)
		}
	}
	if err := g.opset10(m); err != nil {
		return nil, QuantStats{}, err
	}
	if opt.LookupDomain != "" {
		m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: opt.LookupDomain, Version: 1})
	}
	q := &quantizer{g: g, m: m, opt: opt, wmax: 127, scales: map[string]float32{}, zeros: map[string]uint8{}, codes: map[string]string{}}
	if opt.ReduceRange {
		q.wmax = 63
	}
	st := q.run(ranges)
	st.WeightBits = 8
	if opt.ReduceRange {
		st.WeightBits = 7
	}
	g.pruneQDQ()
	if err := topoSort(m.Graph); err != nil {
		return nil, st, err
	}
	g.compact()
	b, err := encode(m)
	return b, st, err
}

// opset10 moves the default domain to opset 10 at least, giving Slice its
// bounds as inputs, and imports the contrib domain.
func (g *graph) opset10(m *onnxpb.ModelProto) error {
	ms := false
	for _, o := range m.OpsetImport {
		switch o.Domain {
		case "", "ai.onnx":
			if o.Version < 10 {
				o.Version = 10
			}
		case msDomain:
			ms = true
		}
	}
	if !ms {
		m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: msDomain, Version: 1})
	}
	for _, n := range m.Graph.Node {
		if n.OpType != "Slice" || n.Domain != "" || len(n.Input) != 1 {
			continue
		}
		var keep []*onnxpb.AttributeProto
		vals := map[string][]int64{}
		for _, a := range n.Attribute {
			switch a.Name {
			case "starts", "ends", "axes":
				vals[a.Name] = a.Ints
			default:
				keep = append(keep, a)
			}
		}
		if vals["starts"] == nil || vals["ends"] == nil {
			return fmt.Errorf("quantizing: Slice %q without starts and ends", n.Name)
		}
		g.fresh++
		base := fmt.Sprintf("%s.graphopt.slice.%d", n.Name, g.fresh)
		for _, k := range []string{"starts", "ends", "axes"} {
			if v, ok := vals[k]; ok {
				raw := make([]byte, 8*len(v))
				for i, x := range v {
					binary.LittleEndian.PutUint64(raw[8*i:], uint64(x))
				}
				n.Input = append(n.Input, g.addTensor(base+"."+k, onnxpb.TensorProto_INT64, []int64{int64(len(v))}, raw))
			}
		}
		n.Attribute = keep
	}
	return nil
}

// quantizer rewrites one graph's region.
type quantizer struct {
	g   *graph
	m   *onnxpb.ModelProto
	opt QuantOptions
	// wmax is the largest weight code: 127, or 63 with ReduceRange.
	wmax float64
	// scales and zeros are the step and zero point of every dequantized
	// tensor, and codes the name of its uint8 codes, by name.
	scales map[string]float32
	zeros  map[string]uint8
	codes  map[string]string
}

func (q *quantizer) run(ranges map[string]Range) QuantStats {
	var st QuantStats
	nodes := q.g.region()
	var swishes []swish
	if q.opt.LookupDomain != "" {
		swishes = q.swishes(nodes)
		gone := map[*onnxpb.NodeProto]bool{}
		for _, sw := range swishes {
			gone[sw.hs], gone[sw.mul] = true, true
			for _, n := range sw.tail {
				gone[n] = true
			}
		}
		nodes = slices.DeleteFunc(slices.Clone(nodes), func(n *onnxpb.NodeProto) bool { return gone[n] })
	}
	// Nodes whose output already goes through its pair.
	paired := map[*onnxpb.NodeProto]bool{}
	for _, n := range nodes {
		if q.hardSigmoid(n) {
			paired[n] = true
			st.HardSigmoids++
		}
	}
	// Every tensor a region node writes goes through a pair with its range.
	for _, n := range nodes {
		if paired[n] {
			continue
		}
		for i, out := range n.Output {
			r := ranges[out]
			if n.OpType == "Resize" {
				// The same step and zero point as its input let ONNX
				// Runtime resize the codes themselves.
				r = ranges[n.Input[0]]
			}
			s, z := uint8Params(r)
			pre := q.g.name(out, "pre")
			n.Output[i] = pre
			q.pair(pre, out, s, s, z, z)
			st.Tensors++
		}
	}
	// The tables read their convolutions' codes, paired above; their own
	// outputs must have codes before the next step, or it would take them
	// for inputs from outside and quantize them a second time.
	for _, sw := range swishes {
		q.lookup(sw, ranges[sw.y])
		st.LookupTables++
	}
	// Inputs from outside the region (the graph's input) and constant
	// operands.
	for _, n := range nodes {
		for i, in := range n.Input {
			if i >= dataInputs(n) || in == "" {
				continue
			}
			if _, ok := q.scales[in]; ok {
				continue
			}
			if v, dims, ok := q.g.floats(in); ok {
				n.Input[i] = q.constant(in, v, dims)
				continue
			}
			s, z := uint8Params(ranges[in])
			dq := q.g.name(in, "dq")
			q.pair(in, dq, s, s, z, z)
			st.Tensors++
			for _, c := range nodes {
				for k := range c.Input {
					if c.Input[k] == in {
						c.Input[k] = dq
					}
				}
			}
		}
	}
	for _, n := range nodes {
		if n.OpType == "Conv" && q.conv(n) {
			st.Convs++
		}
	}
	return st
}

// swish is a hard-swish, mul = x · hs with hs = HardSigmoid(x; 1/6, 1/2),
// and the scalar multiplications and additions that follow it alone, which
// make its output y = scale·mul + shift.
type swish struct {
	x            string
	hs, mul      *onnxpb.NodeProto
	tail         []*onnxpb.NodeProto
	y            string
	scale, shift float64
	// planar is set when x is a 2-D convolution's NCHW output.
	planar bool
}

// swishes finds the region's hard-swishes of a convolution's output, which
// has codes to look up.
func (q *quantizer) swishes(nodes []*onnxpb.NodeProto) []swish {
	in := map[*onnxpb.NodeProto]bool{}
	for _, n := range nodes {
		in[n] = true
	}
	var out []swish
	for _, hs := range nodes {
		if !isHardSigmoid(hs) {
			continue
		}
		x := hs.Input[0]
		mul := q.g.only(hs.Output[0])
		if mul == nil || !in[mul] || mul.OpType != "Mul" || len(mul.Input) != 2 || len(mul.Output) != 1 ||
			!(mul.Input[0] == x && mul.Input[1] == hs.Output[0] || mul.Input[1] == x && mul.Input[0] == hs.Output[0]) {
			continue
		}
		p := q.g.producer[x]
		if p == nil || !in[p] || p.OpType != "Conv" {
			continue
		}
		_, dims, _ := q.g.floats(p.Input[1])
		sw := swish{x: x, hs: hs, mul: mul, y: mul.Output[0], scale: 1, planar: len(dims) == 4}
		for {
			n := q.g.only(sw.y)
			if n == nil || !in[n] || n.OpType != "Add" && n.OpType != "Mul" || len(n.Output) != 1 {
				break
			}
			v, c, ok := q.g.operand(n)
			if !ok || v != sw.y {
				break
			}
			if n.OpType == "Mul" {
				sw.scale, sw.shift = sw.scale*float64(c), sw.shift*float64(c)
			} else {
				sw.shift += float64(c)
			}
			sw.tail, sw.y = append(sw.tail, n), n.Output[0]
		}
		out = append(out, sw)
	}
	return out
}

// lookup replaces a hard-swish and its scalar tail by a LookupTable from
// x's codes to codes of y at y's range, read back through a
// DequantizeLinear under y's name.
func (q *quantizer) lookup(sw swish, r Range) {
	sx, zx := q.scales[sw.x], q.zeros[sw.x]
	sy, zy := uint8Params(r)
	table := make([]byte, 256)
	for c := range table {
		v := float64(sx) * float64(c-int(zx))
		h := sw.scale*v*max(0, min(6, v+3))/6 + sw.shift
		table[c] = byte(max(0, min(255, math.Round(h/float64(sy))+float64(zy))))
	}
	y := sw.y
	base := q.g.name(y, "lut")
	in, out := q.codes[sw.x], base+".u8"
	if sw.planar {
		// ONNX Runtime runs its quantized convolutions channels-last and
		// moves the transposes that takes through the operators it knows
		// to be element-wise, where they cancel; a custom operator stops
		// them, which costs a transpose each side. An explicit pair to
		// channels-last and back around the table meets each of those and
		// cancels it, so the table reads the convolution's output as is.
		in = q.transpose(base+".nhwc", in, []int64{0, 2, 3, 1})
		out = base + ".u8.nhwc"
		q.transposeTo(base+".nchw", out, base+".u8", []int64{0, 3, 1, 2})
	}
	lut := &onnxpb.NodeProto{OpType: "LookupTable", Domain: q.opt.LookupDomain, Name: base, Output: []string{out}, Input: []string{
		in, q.g.addTensor(base+".table", onnxpb.TensorProto_UINT8, []int64{256}, table),
	}}
	dq := &onnxpb.NodeProto{OpType: "DequantizeLinear", Domain: msDomain, Name: base + ".DQ", Output: []string{y}, Input: []string{
		base + ".u8",
		q.g.addTensor(base+".scale", onnxpb.TensorProto_FLOAT, nil, f32raw([]float32{sy})),
		q.g.addTensor(base+".zero", onnxpb.TensorProto_UINT8, nil, []byte{zy}),
	}}
	q.m.Graph.Node = append(q.m.Graph.Node, lut, dq)
	q.scales[y], q.zeros[y], q.codes[y] = sy, zy, base+".u8"
	q.g.kill(sw.hs, sw.mul)
	q.g.kill(sw.tail...)
}

// transpose adds a Transpose of in by perm and returns its output.
func (q *quantizer) transpose(name, in string, perm []int64) string {
	q.transposeTo(name, in, name+".out", perm)
	return name + ".out"
}

func (q *quantizer) transposeTo(name, in, out string, perm []int64) {
	q.m.Graph.Node = append(q.m.Graph.Node, &onnxpb.NodeProto{
		OpType: "Transpose", Name: name, Input: []string{in}, Output: []string{out},
		Attribute: []*onnxpb.AttributeProto{{Name: "perm", Type: onnxpb.AttributeProto_INTS, Ints: perm}},
	})
}

// pruneQDQ drops quantize and dequantize nodes whose outputs nothing
// reads: a lookup table reads a convolution's codes, leaving the pair's
// DequantizeLinear unread, and ONNX Runtime runs an unread node anyway.
func (g *graph) pruneQDQ() {
	for {
		used := map[string]bool{}
		for _, n := range g.g.Node {
			if !g.dead[n] {
				for _, in := range n.Input {
					used[in] = true
				}
			}
		}
		for name := range g.outputs {
			used[name] = true
		}
		pruned := false
		for _, n := range g.g.Node {
			if g.dead[n] || n.Domain != msDomain || n.OpType != "QuantizeLinear" && n.OpType != "DequantizeLinear" || used[n.Output[0]] {
				continue
			}
			g.kill(n)
			pruned = true
		}
		if !pruned {
			return
		}
	}
}

// isHardSigmoid reports whether n is HardSigmoid(x; 1/6, 1/2), hard-swish's
// gate.
func isHardSigmoid(n *onnxpb.NodeProto) bool {
	if n.OpType != "HardSigmoid" || n.Domain != "" || len(n.Input) != 1 || len(n.Output) != 1 {
		return false
	}
	a, b := attr(n, "alpha"), attr(n, "beta")
	return a != nil && b != nil && math.Abs(float64(a.F)-1.0/6) <= 1e-6 && math.Abs(float64(b.F)-0.5) <= 1e-6
}

// pair adds QuantizeLinear(in; qs, qz) → DequantizeLinear(ds, dz) → out.
func (q *quantizer) pair(in, out string, qs, ds float32, qz, dz uint8) {
	base := q.g.name(out, "q")
	qsc := q.g.addTensor(base+".scale", onnxpb.TensorProto_FLOAT, nil, f32raw([]float32{qs}))
	qzp := q.g.addTensor(base+".zero", onnxpb.TensorProto_UINT8, nil, []byte{qz})
	dsc, dzp := qsc, qzp
	if ds != qs || dz != qz {
		dsc = q.g.addTensor(base+".dscale", onnxpb.TensorProto_FLOAT, nil, f32raw([]float32{ds}))
		dzp = q.g.addTensor(base+".dzero", onnxpb.TensorProto_UINT8, nil, []byte{dz})
	}
	q.m.Graph.Node = append(q.m.Graph.Node,
		&onnxpb.NodeProto{OpType: "QuantizeLinear", Domain: msDomain, Name: base + ".Q", Input: []string{in, qsc, qzp}, Output: []string{base + ".u8"}},
		&onnxpb.NodeProto{OpType: "DequantizeLinear", Domain: msDomain, Name: base + ".DQ", Input: []string{base + ".u8", dsc, dzp}, Output: []string{out}})
	q.scales[out], q.zeros[out], q.codes[out] = ds, dz, base+".u8"
}

// hardSigmoid turns HardSigmoid(x; 1/6, 1/2) into Add(x, 3) quantized over
// [0, 6] and read back at 1/255 a step, and reports whether n was one.
func (q *quantizer) hardSigmoid(n *onnxpb.NodeProto) bool {
	if !isHardSigmoid(n) {
		return false
	}
	out := n.Output[0]
	n.OpType, n.Attribute = "Add", nil
	n.Input = []string{n.Input[0], q.g.addConst(out+".three", nil, []float32{3})}
	n.Output[0] = q.g.name(out, "pre")
	q.pair(n.Output[0], out, 6.0/255, 1.0/255, 0, 0)
	return true
}

// constant stores a float operand as uint8 with its own range and returns
// the name of its dequantized value.
func (q *quantizer) constant(name string, v []float32, dims []int64) string {
	s, z := uint8Params(EmptyRange().Widen(v))
	codes := make([]byte, len(v))
	for i, x := range v {
		codes[i] = byte(max(0, min(255, math.Round(float64(x/s))+float64(z))))
	}
	base := q.g.name(name, "c")
	u8 := q.g.addTensor(base+".u8", onnxpb.TensorProto_UINT8, dims, codes)
	sc := q.g.addTensor(base+".scale", onnxpb.TensorProto_FLOAT, nil, f32raw([]float32{s}))
	zp := q.g.addTensor(base+".zero", onnxpb.TensorProto_UINT8, nil, []byte{z})
	q.m.Graph.Node = append(q.m.Graph.Node, &onnxpb.NodeProto{OpType: "DequantizeLinear", Domain: msDomain, Name: base + ".DQ", Input: []string{u8, sc, zp}, Output: []string{base}})
	return base
}

// conv gives a Conv whose input is dequantized int8 weights, symmetric per
// output channel, and an int32 bias at the input's step times the weight's.
func (q *quantizer) conv(n *onnxpb.NodeProto) bool {
	sx, ok := q.scales[n.Input[0]]
	if !ok {
		return false
	}
	w, dims, b, ok := q.g.convWeights(n)
	if !ok {
		return false
	}
	oc := int(dims[0])
	per := len(w) / oc
	sw, bs := make([]float32, oc), make([]float32, oc)
	wq, bq := make([]byte, len(w)), make([]byte, 4*oc)
	for c := range oc {
		peak := float32(0)
		for _, v := range w[c*per : (c+1)*per] {
			peak = max(peak, float32(math.Abs(float64(v))))
		}
		if peak == 0 {
			peak = 1
		}
		sw[c] = peak / float32(q.wmax)
		for i, v := range w[c*per : (c+1)*per] {
			wq[c*per+i] = byte(int8(max(-q.wmax, min(q.wmax, math.Round(float64(v/sw[c]))))))
		}
		bs[c] = sx * sw[c]
		bias := max(math.MinInt32, min(math.MaxInt32, math.Round(float64(b[c]/bs[c]))))
		binary.LittleEndian.PutUint32(bq[4*c:], uint32(int32(bias)))
	}
	base := q.g.name(n.Output[0], "w")
	ch := []int64{int64(oc)}
	axis := []*onnxpb.AttributeProto{{Name: "axis", Type: onnxpb.AttributeProto_INT, I: 0}}
	wd := &onnxpb.NodeProto{OpType: "DequantizeLinear", Domain: msDomain, Name: base + ".DQ", Attribute: axis, Output: []string{base + ".f"}, Input: []string{
		q.g.addTensor(base+".i8", onnxpb.TensorProto_INT8, dims, wq),
		q.g.addTensor(base+".scale", onnxpb.TensorProto_FLOAT, ch, f32raw(sw)),
		q.g.addTensor(base+".zero", onnxpb.TensorProto_INT8, ch, make([]byte, oc)),
	}}
	bd := &onnxpb.NodeProto{OpType: "DequantizeLinear", Domain: msDomain, Name: base + ".bias.DQ", Attribute: axis, Output: []string{base + ".bias.f"}, Input: []string{
		q.g.addTensor(base+".bias.i32", onnxpb.TensorProto_INT32, ch, bq),
		q.g.addTensor(base+".bias.scale", onnxpb.TensorProto_FLOAT, ch, f32raw(bs)),
		q.g.addTensor(base+".bias.zero", onnxpb.TensorProto_INT32, ch, make([]byte, 4*oc)),
	}}
	n.Input = []string{n.Input[0], wd.Output[0], bd.Output[0]}
	q.m.Graph.Node = append(q.m.Graph.Node, wd, bd)
	return true
}

// uint8Params is the asymmetric uint8 step and zero point of a range
// widened to take in 0, so that zero padding is exact.
func uint8Params(r Range) (float32, uint8) {
	lo, hi := min(r.Min, 0), max(r.Max, 0)
	if hi-lo < 1e-8 {
		hi = lo + 1e-8
	}
	s := (hi - lo) / 255
	zp := math.Round(float64(-lo / s))
	return s, uint8(max(0, min(255, zp)))
}

// name is a fresh tensor name derived from base.
func (g *graph) name(base, kind string) string {
	g.fresh++
	return fmt.Sprintf("%s.graphopt.%s.%d", base, kind, g.fresh)
}

// addTensor adds an initializer of any type from its raw little-endian
// bytes.
func (g *graph) addTensor(name string, dt onnxpb.TensorProto_DataType, dims []int64, raw []byte) string {
	t := &onnxpb.TensorProto{Name: name, Dims: append([]int64(nil), dims...), DataType: int32(dt), RawData: raw}
	g.g.Initializer = append(g.g.Initializer, t)
	g.consts[name] = t
	return name
}

func f32raw(v []float32) []byte {
	raw := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	return raw
}

// topoSort orders the graph's nodes so that each comes after the producers
// of its inputs; the rewrite appends its new nodes at the end.
func topoSort(gp *onnxpb.GraphProto) error {
	avail := map[string]bool{"": true}
	for _, in := range gp.Input {
		avail[in.Name] = true
	}
	for _, t := range gp.Initializer {
		avail[t.Name] = true
	}
	var out []*onnxpb.NodeProto
	pending := gp.Node
	for len(pending) > 0 {
		var next []*onnxpb.NodeProto
		for _, n := range pending {
			ready := true
			for _, in := range n.Input {
				if !avail[in] {
					ready = false
					break
				}
			}
			if !ready {
				next = append(next, n)
				continue
			}
			out = append(out, n)
			for _, o := range n.Output {
				avail[o] = true
			}
		}
		if len(next) == len(pending) {
			return fmt.Errorf("quantizing: %d nodes wait on inputs nothing produces (first %q)", len(next), next[0].Name)
		}
		pending = next
	}
	gp.Node = out
	return nil
}

// foldConvBN folds Conv → BatchNormalization (inference form) into the
// Conv's weights and bias.
func (g *graph) foldConvBN() int {
	count := 0
	for _, conv := range g.g.Node {
		if !g.live(conv, "Conv") {
			continue
		}
		bn := g.only(conv.Output[0])
		if !g.live(bn, "BatchNormalization") || len(bn.Input) != 5 || len(bn.Output) != 1 {
			continue
		}
		w, dims, b, ok := g.convWeights(conv)
		if !ok {
			continue
		}
		oc := int(dims[0])
		var p [4][]float32
		for i := range p {
			v, _, ok := g.floats(bn.Input[i+1])
			if !ok || len(v) != oc {
				break
			}
			p[i] = v
		}
		if p[3] == nil {
			continue
		}
		scale, shift, mean, variance := p[0], p[1], p[2], p[3]
		eps := float32(1e-5)
		if a := attr(bn, "epsilon"); a != nil {
			eps = a.F
		}
		per := len(w) / oc
		nw, nb := make([]float32, len(w)), make([]float32, oc)
		for c := range oc {
			k := scale[c] / float32(math.Sqrt(float64(variance[c]+eps)))
			for i := range per {
				nw[c*per+i] = w[c*per+i] * k
			}
			nb[c] = (b[c]-mean[c])*k + shift[c]
		}
		g.setConvWeights(conv, nw, dims, nb)
		conv.Output[0] = bn.Output[0]
		g.producer[conv.Output[0]] = conv
		g.kill(bn)
		count++
	}
	return count
}
