package graphopt

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/proto"

	"github.com/docstrange/mesh/backends/onnx/internal/modeltest"
	"github.com/docstrange/mesh/backends/onnx/internal/onnxpb"
	"github.com/docstrange/mesh/backends/onnx/manifest"
	dsort "github.com/docstrange/mesh/backends/onnx/ort"
)

// builder assembles a small opset-9 model the way paddle2onnx writes one:
// weights and scalars as Constant nodes.
type builder struct {
	nodes []*onnxpb.NodeProto
	n     int
	rng   *rand.Rand
}

func (b *builder) name(p string) string {
	b.n++
	return p + "." + string(rune('a'+b.n%26)) + string(rune('0'+b.n/26%10)) + string(rune('0'+b.n%10))
}

func (b *builder) constant(dims []int64, v []float32) string {
	out := b.name("const")
	raw := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	b.nodes = append(b.nodes, &onnxpb.NodeProto{OpType: "Constant", Output: []string{out}, Attribute: []*onnxpb.AttributeProto{{
		Name: "value", Type: onnxpb.AttributeProto_TENSOR,
		T: &onnxpb.TensorProto{Dims: dims, DataType: int32(onnxpb.TensorProto_FLOAT), RawData: raw},
	}}})
	return out
}

func (b *builder) scalar(v float32) string { return b.constant([]int64{1}, []float32{v}) }

func (b *builder) op(typ string, attrs []*onnxpb.AttributeProto, in ...string) string {
	out := b.name(typ)
	b.nodes = append(b.nodes, &onnxpb.NodeProto{OpType: typ, Input: in, Output: []string{out}, Attribute: attrs})
	return out
}

func (b *builder) random(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(b.rng.NormFloat64() * 0.5)
	}
	return v
}

// conv adds a Conv of out channels with k×k kernels, padding pad and the
// given group count, from in channels.
func (b *builder) conv(x string, in, out, k, pad, group int) string {
	w := b.constant([]int64{int64(out), int64(in / group), int64(k), int64(k)}, b.random(out*in/group*k*k))
	bias := b.constant([]int64{int64(out)}, b.random(out))
	ints := func(v ...int64) []int64 { return v }
	return b.op("Conv", []*onnxpb.AttributeProto{
		{Name: "kernel_shape", Type: onnxpb.AttributeProto_INTS, Ints: ints(int64(k), int64(k))},
		{Name: "pads", Type: onnxpb.AttributeProto_INTS, Ints: ints(int64(pad), int64(pad), int64(pad), int64(pad))},
		{Name: "group", Type: onnxpb.AttributeProto_INT, I: int64(group)},
	}, x, w, bias)
}

// affine is PP-LCNetV3's learnable affine block, scalar scale then shift;
// the scale constant comes first, as paddle2onnx writes it.
func (b *builder) affine(x string, scale, shift float32) string {
	return b.op("Add", nil, b.op("Mul", nil, b.scalar(scale), x), b.scalar(shift))
}

func (b *builder) hardSwish(x string) string {
	clip := b.op("Clip", []*onnxpb.AttributeProto{
		{Name: "min", Type: onnxpb.AttributeProto_FLOAT, F: 0},
		{Name: "max", Type: onnxpb.AttributeProto_FLOAT, F: 6},
	}, b.op("Add", nil, x, b.scalar(3)))
	return b.op("Div", nil, b.op("Mul", nil, x, clip), b.scalar(6))
}

// model wraps the builder's nodes in an ONNX model whose output y is an
// Identity of out, with input x of shape in at the given default opset.
func (b *builder) model(t *testing.T, name string, opset int64, out string, in, outDims []int64) []byte {
	t.Helper()
	m := &onnxpb.ModelProto{
		IrVersion:   8,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: opset}},
		Graph: &onnxpb.GraphProto{
			Name:   name,
			Node:   append(b.nodes, &onnxpb.NodeProto{OpType: "Identity", Input: []string{out}, Output: []string{"y"}}),
			Input:  []*onnxpb.ValueInfoProto{valueInfo("x", in...)},
			Output: []*onnxpb.ValueInfoProto{valueInfo("y", outDims...)},
		},
	}
	b2, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b2
}

func valueInfo(name string, dims ...int64) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return &onnxpb.ValueInfoProto{Name: name, Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: int32(onnxpb.TensorProto_FLOAT), Shape: shape},
	}}}
}

// lcnetModel is three PP-LCNetV3 blocks: a padded depthwise conv, an
// unpadded pointwise conv and a padded grouped conv, each with affine
// blocks around a hard-swish, as paddle2onnx exports them.
func lcnetModel(t *testing.T) []byte {
	b := &builder{rng: rand.New(rand.NewPCG(1, 2))}
	x := b.conv("x", 3, 8, 3, 1, 1)
	block := func(x string, conv func(string) string, a, s, c, d float32) string {
		y := b.affine(conv(x), a, s)
		return b.affine(b.hardSwish(y), c, d)
	}
	x = block(x, func(x string) string { return b.conv(x, 8, 8, 3, 1, 8) }, 1.3, -0.2, 0.9, 0.1)
	x = block(x, func(x string) string { return b.conv(x, 8, 16, 1, 0, 1) }, 0.7, 0.3, 1.1, -0.4)
	x = block(x, func(x string) string { return b.conv(x, 16, 16, 5, 2, 4) }, 1.05, 0.05, 0.8, 0.2)
	y := b.conv(x, 16, 4, 1, 0, 1)
	return b.model(t, "lcnet", 9, y, []int64{1, 3, 12, 20}, []int64{1, 4, 12, 20})
}

// testRuntime is the environment every test of the package shares, opened
// through the ort package so that sessions it makes know the LookupTable
// operator; it stays open until the test binary exits.
var testRuntime *dsort.Runtime

func ortOnce(t *testing.T) *dsort.Runtime {
	t.Helper()
	if testRuntime != nil {
		return testRuntime
	}
	m := modeltest.Manifest(t)
	rt, err := dsort.Open(filepath.Join(m.Dir, m.Runtime.File))
	if err != nil {
		t.Fatalf("initializing onnxruntime: %v", err)
	}
	testRuntime = rt
	return rt
}

// run runs a model on input x of shape dims and returns its first output.
func run(t *testing.T, model []byte, in, out string, dims []int64, x []float32) ([]float32, []int64) {
	t.Helper()
	ortOnce(t)
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{in}, []string{out}, nil)
	if err != nil {
		t.Fatalf("creating session: %v", err)
	}
	defer sess.Destroy()
	tx, err := ort.NewTensor(ort.NewShape(dims...), x)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Destroy()
	outs := []ort.Value{nil}
	if err := sess.Run([]ort.Value{tx}, outs); err != nil {
		t.Fatalf("running: %v", err)
	}
	defer outs[0].Destroy()
	ty := outs[0].(*ort.Tensor[float32])
	return append([]float32(nil), ty.GetData()...), ty.GetShape()
}

func TestRewriteMatchesOriginal(t *testing.T) {
	model := lcnetModel(t)
	rw, st, err := Rewrite(model)
	if err != nil {
		t.Fatal(err)
	}
	// Three affine blocks after convs, three hard-swishes, three affine
	// blocks before convs.
	if st.ConvAffine != 3 || st.HardSwish != 3 || st.AffineConv != 3 {
		t.Errorf("stats %+v, want 3 of each pattern", st)
	}
	if st.NodesAfter >= st.NodesBefore {
		t.Errorf("nodes %d → %d, want fewer", st.NodesBefore, st.NodesAfter)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(rw, &m); err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	for _, n := range m.Graph.Node {
		ops[n.OpType]++
	}
	if ops["Clip"] != 0 || ops["Div"] != 0 || ops["HardSigmoid"] != 3 {
		t.Errorf("ops after rewrite %v: want no Clip or Div and 3 HardSigmoid", ops)
	}
	// Of the three affine blocks before a conv, the one before the padded
	// 5×5 conv keeps its shift, as a depthwise 1×1 Conv; the 1×1 convs take
	// theirs into the bias. Each HardSigmoid reads a depthwise 1×1 Conv.
	if ops["Add"] != 0 || ops["Mul"] != 3 || ops["Conv"] != 5+3+1 || st.Blocked != 4 {
		t.Errorf("ops after rewrite %v, %d blocked: want no Add, 3 Mul (hard-swish), 9 Conv and 4 blocked", ops, st.Blocked)
	}

	sameOutputs(t, model, rw, []int64{1, 3, 12, 20})
}

// randomInput is an input of shape dims, normal with spread 2, seeded by
// seed.
func randomInput(dims []int64, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 2)
	}
	return x
}

// sameOutputs runs both models on one random input and compares outputs.
func sameOutputs(t *testing.T, model, rw []byte, dims []int64) {
	t.Helper()
	x := randomInput(dims, 3)
	want, _ := run(t, model, "x", "y", dims, x)
	got, shape := run(t, rw, "x", "y", dims, x)
	if len(got) != len(want) {
		t.Fatalf("output shape %v, %d values; want %d", shape, len(got), len(want))
	}
	var worst float64
	for i := range want {
		d := math.Abs(float64(got[i]-want[i])) / (1 + math.Abs(float64(want[i])))
		worst = max(worst, d)
	}
	if worst > 1e-4 {
		t.Errorf("rewritten graph differs from the original by %g (relative), want ≤ 1e-4", worst)
	}
}

func TestRewriteLeavesOtherGraphsAlone(t *testing.T) {
	b := &builder{rng: rand.New(rand.NewPCG(5, 6))}
	// A Mul by a scalar whose output feeds two nodes must not be folded,
	// nor an Add(3) whose Clip is not (0, 6).
	y := b.conv("x", 3, 4, 3, 1, 1)
	m1 := b.op("Mul", nil, y, b.scalar(2))
	z := b.op("Add", nil, m1, m1)
	clip := b.op("Clip", []*onnxpb.AttributeProto{
		{Name: "min", Type: onnxpb.AttributeProto_FLOAT, F: 0},
		{Name: "max", Type: onnxpb.AttributeProto_FLOAT, F: 5},
	}, b.op("Add", nil, z, b.scalar(3)))
	out := b.op("Div", nil, b.op("Mul", nil, z, clip), b.scalar(6))
	m := &onnxpb.ModelProto{IrVersion: 8, OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: 9}}, Graph: &onnxpb.GraphProto{
		Node:   append(b.nodes, &onnxpb.NodeProto{OpType: "Identity", Input: []string{out}, Output: []string{"y"}}),
		Input:  []*onnxpb.ValueInfoProto{valueInfo("x", 1, 3, 6, 6)},
		Output: []*onnxpb.ValueInfoProto{valueInfo("y", 1, 4, 6, 6)},
	}}
	model, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	rw, st, err := Rewrite(model)
	if err != nil {
		t.Fatal(err)
	}
	// Only the Mul right after the Conv folds; its Add reads it twice.
	if st.ConvAffine != 1 || st.HardSwish != 0 || st.AffineConv != 0 {
		t.Errorf("stats %+v: want only the Conv→Mul fold", st)
	}
	sameOutputs(t, model, rw, []int64{1, 3, 6, 6})
}

func TestRewriteRejectsGarbage(t *testing.T) {
	if _, _, err := Rewrite([]byte("not a model")); err == nil {
		t.Error("Rewrite of garbage: want an error")
	}
	empty, _ := proto.Marshal(&onnxpb.ModelProto{IrVersion: 8})
	if _, _, err := Rewrite(empty); err == nil {
		t.Error("Rewrite of a model without a graph: want an error")
	}
}

// TestRewritePPOCR rewrites the real PP-OCRv4 models and compares their
// outputs with the originals' on one input.
func TestRewritePPOCR(t *testing.T) {
	m := modeltest.Manifest(t)
	for _, tc := range []struct {
		task string
		dims []int64
	}{
		{manifest.TaskRecognize, []int64{1, 3, 48, 320}},
		{manifest.TaskDetect, []int64{1, 3, 160, 320}},
	} {
		t.Run(tc.task, func(t *testing.T) {
			mod, ok := m.Model(tc.task)
			if !ok {
				t.Fatalf("no %s model in the manifest", tc.task)
			}
			data, err := os.ReadFile(m.Path(mod.File))
			if err != nil {
				t.Fatal(err)
			}
			rw, st, err := Rewrite(data)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %+v", mod.Name, st)
			if st.ConvAffine < 20 || st.HardSwish < 20 || st.AffineConv < 20 || st.NodesAfter >= st.NodesBefore*3/4 {
				t.Errorf("%s: rewrites %+v; want at least 20 of each pattern and a quarter fewer nodes", mod.Name, st)
			}
			n := int64(1)
			for _, d := range tc.dims {
				n *= d
			}
			x := make([]float32, n)
			rng := rand.New(rand.NewPCG(7, 8))
			for i := range x {
				x[i] = float32(rng.Float64()*2 - 1)
			}
			want, _ := run(t, data, mod.Input.Name, mod.Output.Name, tc.dims, x)
			got, _ := run(t, rw, mod.Input.Name, mod.Output.Name, tc.dims, x)
			var worst float64
			for i := range want {
				worst = max(worst, math.Abs(float64(got[i]-want[i])))
			}
			// Both outputs are probabilities.
			if worst > 1e-3 {
				t.Errorf("%s: outputs differ by up to %g, want ≤ 1e-3", mod.Name, worst)
			}
		})
	}
}
