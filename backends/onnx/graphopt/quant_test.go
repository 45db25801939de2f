package graphopt

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/proto"

	"github.com/docstrange/mesh/backends/onnx/internal/onnxpb"
	dsort "github.com/docstrange/mesh/backends/onnx/ort"
)

// calibrate runs the calibration model of prepared on n random inputs of
// shape dims and returns every reported tensor's range.
func calibrate(t *testing.T, prepared []byte, dims []int64, n int) map[string]Range {
	t.Helper()
	cal, names, err := Calibration(prepared)
	if err != nil {
		t.Fatal(err)
	}
	ortOnce(t)
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(cal, []string{"x"}, names, nil)
	if err != nil {
		t.Fatalf("calibration session: %v", err)
	}
	defer sess.Destroy()
	ranges := map[string]Range{}
	rng := rand.New(rand.NewPCG(5, 6))
	for range n {
		x := make([]float32, dims[0]*dims[1]*dims[2]*dims[3])
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 2)
		}
		tx, err := ort.NewTensor(ort.NewShape(dims...), x)
		if err != nil {
			t.Fatal(err)
		}
		outs := make([]ort.Value, len(names))
		if err := sess.Run([]ort.Value{tx}, outs); err != nil {
			t.Fatalf("calibration run: %v", err)
		}
		for i, o := range outs {
			r, ok := ranges[names[i]]
			if !ok {
				r = EmptyRange()
			}
			ranges[names[i]] = r.Widen(o.(*ort.Tensor[float32]).GetData())
			_ = o.Destroy()
		}
		_ = tx.Destroy()
	}
	return ranges
}

// TestQuantizeLCNet quantizes the PP-LCNet-shaped model: every conv gets
// int8 weights, every hard-swish becomes a quantized Add and Mul or, where
// the runtime has the operator, one LookupTable, every Q/DQ node is ONNX
// Runtime's, and the outputs stay close to the float model's.
func TestQuantizeLCNet(t *testing.T) {
	model := lcnetModel(t)
	prepared, err := Prepare(model)
	if err != nil {
		t.Fatal(err)
	}
	dims := []int64{1, 3, 12, 20}
	ranges := calibrate(t, prepared, dims, 8)
	tests := []struct {
		name string
		opt  QuantOptions
		// stats and ops are what the quantized model must have.
		stats QuantStats
		ops   map[string]int
		// weightPeak is the largest weight code, which each output
		// channel's largest weight takes.
		weightPeak int8
	}{
		// Three hard-swishes as Add and Mul, and the one shift that stays
		// before a padded convolution.
		{name: "standard operators", stats: QuantStats{Convs: 5, HardSigmoids: 3, WeightBits: 8}, ops: map[string]int{"HardSigmoid": 0, "LookupTable": 0, "Add": 4, "Mul": 3}, weightPeak: 127},
		// Each hard-swish, with the shift after it, as one table between
		// a pair of transposes.
		{name: "lookup tables", opt: QuantOptions{LookupDomain: dsort.LookupDomain}, stats: QuantStats{Convs: 5, LookupTables: 3, WeightBits: 8}, ops: map[string]int{"HardSigmoid": 0, "LookupTable": 3, "Add": 0, "Mul": 0, "Transpose": 6}, weightPeak: 127},
		// Weights in 7 bits, for kernels that add product pairs in int16.
		{name: "reduced range", opt: QuantOptions{ReduceRange: true}, stats: QuantStats{Convs: 5, HardSigmoids: 3, WeightBits: 7}, ops: map[string]int{"HardSigmoid": 0, "LookupTable": 0, "Add": 4, "Mul": 3}, weightPeak: 63},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, st, err := Quantize(prepared, ranges, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if st.Tensors == 0 {
				t.Errorf("stats %+v: no tensor quantized", st)
			}
			st.Tensors = 0
			if st != tt.stats {
				t.Errorf("stats %+v, want %+v", st, tt.stats)
			}
			var m onnxpb.ModelProto
			if err := proto.Unmarshal(q, &m); err != nil {
				t.Fatal(err)
			}
			for _, o := range m.OpsetImport {
				if o.Domain == "" && o.Version < 10 {
					t.Errorf("default opset %d, want at least 10 for QLinearConv", o.Version)
				}
			}
			ops := map[string]int{}
			for _, n := range m.Graph.Node {
				ops[n.OpType]++
				if (n.OpType == "QuantizeLinear" || n.OpType == "DequantizeLinear") && n.Domain != msDomain {
					t.Errorf("%s %q in domain %q, want %s", n.OpType, n.Name, n.Domain, msDomain)
				}
			}
			for op, n := range tt.ops {
				if ops[op] != n {
					t.Errorf("%d %s nodes, want %d (ops %v)", ops[op], op, n, ops)
				}
			}
			if ops["QuantizeLinear"] == 0 || ops["DequantizeLinear"] == 0 {
				t.Errorf("ops %v: want Q/DQ pairs", ops)
			}
			weights := 0
			for _, w := range m.Graph.Initializer {
				if w.DataType != int32(onnxpb.TensorProto_INT8) || len(w.Dims) != 4 {
					continue // not a convolution's weights (zero points)
				}
				weights++
				per := len(w.RawData) / int(w.Dims[0])
				for c := range int(w.Dims[0]) {
					peak := int8(0)
					for _, b := range w.RawData[c*per : (c+1)*per] {
						peak = max(peak, int8(b), -int8(b))
					}
					if peak != tt.weightPeak {
						t.Errorf("weights %q, channel %d: largest code %d, want %d", w.Name, c, peak, tt.weightPeak)
					}
				}
			}
			if weights != tt.stats.Convs {
				t.Errorf("%d int8 weight tensors, want one per convolution (%d)", weights, tt.stats.Convs)
			}

			closeToFloat(t, model, q, dims, 7)
		})
	}
}

// closeToFloat runs the float model and its quantized form on one random
// input (seeded by seed) of shape dims: 8-bit steps make them differ, but
// by at most 5% of the output's mean size.
func closeToFloat(t *testing.T, model, quantized []byte, dims []int64, seed uint64) {
	t.Helper()
	x := randomInput(dims, seed)
	want, _ := run(t, model, "x", "y", dims, x)
	got := runRuntime(t, quantized, dims, x)
	var diff, spread float64
	for i := range want {
		diff += math.Abs(float64(got[i] - want[i]))
		spread += math.Abs(float64(want[i]))
	}
	if rel := diff / spread; rel > 0.05 || rel == 0 {
		t.Errorf("quantized outputs differ from the float model's by %.2f%% of their mean size, want (0, 5%%]", 100*rel)
	} else {
		t.Logf("quantized outputs differ by %.2f%% of their mean size", 100*rel)
	}
}

// runRuntime runs a model through a session of the shared runtime, which
// knows the LookupTable operator, and returns its only output.
func runRuntime(t *testing.T, model []byte, dims []int64, x []float32) []float32 {
	t.Helper()
	s, err := ortOnce(t).NewSessionFromBytes(t.Context(), "quantized", model, dsort.Config{IntraOpThreads: 1})
	if err != nil {
		t.Fatalf("creating session: %v", err)
	}
	defer s.Close()
	out, err := s.Run(t.Context(), dsort.Tensor{Shape: dims, Data: x})
	if err != nil {
		t.Fatalf("running: %v", err)
	}
	return out[0].Data
}

func TestQuantizeNeedsEveryRange(t *testing.T) {
	prepared, err := Prepare(lcnetModel(t))
	if err != nil {
		t.Fatal(err)
	}
	ranges := calibrate(t, prepared, []int64{1, 3, 12, 20}, 1)
	for name := range ranges {
		delete(ranges, name)
		break
	}
	if _, _, err := Quantize(prepared, ranges, QuantOptions{}); err == nil || !strings.Contains(err.Error(), "no calibrated range") {
		t.Errorf("a missing range: %v, want an error naming it", err)
	}
	if _, _, err := Quantize([]byte("not a model"), nil, QuantOptions{}); err == nil {
		t.Error("garbage: want an error")
	}
	if _, _, err := Calibration([]byte("not a model")); err == nil {
		t.Error("garbage: want an error")
	}
}

// TestPrepareFoldsBatchNorm: Conv → BatchNormalization becomes one Conv
// with the same outputs.
func TestPrepareFoldsBatchNorm(t *testing.T) {
	b := &builder{rng: rand.New(rand.NewPCG(9, 10))}
	y := b.conv("x", 3, 4, 3, 1, 1)
	pos := func(n int) []float32 {
		v := b.random(n)
		for i := range v {
			v[i] = float32(math.Abs(float64(v[i]))) + 0.1
		}
		return v
	}
	bn := b.op("BatchNormalization", []*onnxpb.AttributeProto{{Name: "epsilon", Type: onnxpb.AttributeProto_FLOAT, F: 1e-5}},
		y, b.constant([]int64{4}, pos(4)), b.constant([]int64{4}, b.random(4)), b.constant([]int64{4}, b.random(4)), b.constant([]int64{4}, pos(4)))
	model := b.model(t, "bn", 9, bn, []int64{1, 3, 6, 7}, []int64{1, 4, 6, 7})
	prepared, err := Prepare(model)
	if err != nil {
		t.Fatal(err)
	}
	var pm onnxpb.ModelProto
	if err := proto.Unmarshal(prepared, &pm); err != nil {
		t.Fatal(err)
	}
	for _, n := range pm.Graph.Node {
		if n.OpType == "BatchNormalization" {
			t.Errorf("BatchNormalization %q left after Prepare", n.Name)
		}
	}
	sameOutputs(t, model, prepared, []int64{1, 3, 6, 7})
}

// TestQuantizePyramid quantizes a feature-pyramid step, as the detector's
// neck has: a nearest ×2 Resize of a strided convolution and a Concat
// stay in the region, the Resize's output codes share its input's step and
// zero point (so that ONNX Runtime resizes the codes), its scales stay a
// float parameter, and the outputs stay close to the float model's.
func TestQuantizePyramid(t *testing.T) {
	b := &builder{rng: rand.New(rand.NewPCG(11, 12))}
	low := b.conv("x", 3, 4, 3, 1, 1)
	down := b.conv(low, 4, 4, 3, 1, 1)
	b.nodes[len(b.nodes)-1].Attribute = append(b.nodes[len(b.nodes)-1].Attribute,
		&onnxpb.AttributeProto{Name: "strides", Type: onnxpb.AttributeProto_INTS, Ints: []int64{2, 2}})
	scales := b.constant([]int64{4}, []float32{1, 1, 2, 2})
	up := b.op("Resize", []*onnxpb.AttributeProto{{Name: "mode", Type: onnxpb.AttributeProto_STRING, S: []byte("nearest")}}, down, "", scales)
	cat := b.op("Concat", []*onnxpb.AttributeProto{{Name: "axis", Type: onnxpb.AttributeProto_INT, I: 1}}, up, low)
	y := b.conv(cat, 8, 4, 1, 0, 1)
	model := b.model(t, "pyramid", 13, y, []int64{1, 3, 8, 12}, []int64{1, 4, 8, 12})
	prepared, err := Prepare(model)
	if err != nil {
		t.Fatal(err)
	}
	dims := []int64{1, 3, 8, 12}
	ranges := calibrate(t, prepared, dims, 8)
	// A nearest resize's output has its input's range anyway; a wider one
	// here shows the output's codes follow the input's, not the range.
	ranges[up] = Range{Min: -100, Max: 100}
	q, st, err := Quantize(prepared, ranges, QuantOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Convs != 3 {
		t.Errorf("stats %+v, want 3 convs: the region runs through Resize and Concat", st)
	}
	var qm onnxpb.ModelProto
	if err := proto.Unmarshal(q, &qm); err != nil {
		t.Fatal(err)
	}
	producer := map[string]*onnxpb.NodeProto{}
	for _, n := range qm.Graph.Node {
		for _, o := range n.Output {
			producer[o] = n
		}
	}
	consts := map[string][]byte{}
	for _, c := range qm.Graph.Initializer {
		consts[c.Name] = c.RawData
	}
	// codeParams is the scale and zero point a DequantizeLinear reads its
	// input with.
	codeParams := func(dq *onnxpb.NodeProto) string {
		if dq == nil || dq.OpType != "DequantizeLinear" {
			return ""
		}
		return fmt.Sprintf("%x/%x", consts[dq.Input[1]], consts[dq.Input[2]])
	}
	resizes := 0
	for _, n := range qm.Graph.Node {
		if n.OpType != "Resize" {
			continue
		}
		resizes++
		if n.Input[2] != scales {
			t.Errorf("Resize scales %q, want the float parameter %q", n.Input[2], scales)
		}
		var out *onnxpb.NodeProto
		for _, c := range qm.Graph.Node {
			if c.OpType == "QuantizeLinear" && c.Input[0] == n.Output[0] {
				for _, d := range qm.Graph.Node {
					if d.OpType == "DequantizeLinear" && d.Input[0] == c.Output[0] {
						out = d
					}
				}
			}
		}
		if in, o := codeParams(producer[n.Input[0]]), codeParams(out); in == "" || in != o {
			t.Errorf("Resize reads codes at %q and writes them at %q, want the same", in, o)
		}
	}
	if resizes != 1 {
		t.Fatalf("%d Resize nodes, want 1", resizes)
	}
	closeToFloat(t, model, q, dims, 13)
}

// TestQuantizeSqueezeExcite quantizes a hard-swish whose output two nodes
// read, as PP-LCNet's squeeze-and-excite blocks do: its table's codes are
// what both read, never quantized a second time (a DequantizeLinear
// straight into a QuantizeLinear, which ONNX Runtime runs as two passes
// over the tensor), and the outputs stay close to the float model's.
func TestQuantizeSqueezeExcite(t *testing.T) {
	b := &builder{rng: rand.New(rand.NewPCG(15, 16))}
	x := b.hardSwish(b.conv("x", 3, 8, 3, 1, 1))
	g := b.conv(b.op("GlobalAveragePool", nil, x), 8, 8, 1, 0, 1)
	gate := b.op("HardSigmoid", []*onnxpb.AttributeProto{
		{Name: "alpha", Type: onnxpb.AttributeProto_FLOAT, F: 1.0 / 6},
		{Name: "beta", Type: onnxpb.AttributeProto_FLOAT, F: 0.5},
	}, g)
	y := b.conv(b.op("Mul", nil, x, gate), 8, 4, 1, 0, 1)
	model := b.model(t, "se", 9, y, []int64{1, 3, 8, 12}, []int64{1, 4, 8, 12})
	prepared, err := Prepare(model)
	if err != nil {
		t.Fatal(err)
	}
	dims := []int64{1, 3, 8, 12}
	q, st, err := Quantize(prepared, calibrate(t, prepared, dims, 8), QuantOptions{LookupDomain: dsort.LookupDomain})
	if err != nil {
		t.Fatal(err)
	}
	if st.LookupTables != 1 {
		t.Errorf("stats %+v, want the hard-swish as one table", st)
	}
	var qm onnxpb.ModelProto
	if err := proto.Unmarshal(q, &qm); err != nil {
		t.Fatal(err)
	}
	dequantized := map[string]bool{}
	for _, n := range qm.Graph.Node {
		if n.OpType == "DequantizeLinear" {
			dequantized[n.Output[0]] = true
		}
	}
	for _, n := range qm.Graph.Node {
		if n.OpType == "QuantizeLinear" && dequantized[n.Input[0]] {
			t.Errorf("%s quantizes %s, which a DequantizeLinear wrote: quantized twice", n.Name, n.Input[0])
		}
	}
	closeToFloat(t, model, q, dims, 17)
}
