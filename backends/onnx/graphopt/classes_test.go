package graphopt

import (
	"math"
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/docstrange/mesh/backends/onnx/internal/onnxpb"
)

// headModel is x [1, 5, 4] → MatMul [4, 7] → Add [7] → Softmax → y, the
// shape of PaddleOCR's CTC head; with identity, an Identity comes last.
func headModel(t *testing.T, bias, identity bool) []byte {
	b := &builder{rng: rand.New(rand.NewPCG(11, 12))}
	y := b.op("MatMul", nil, "x", b.constant([]int64{4, 7}, b.random(28)))
	if bias {
		y = b.op("Add", nil, y, b.constant([]int64{7}, b.random(7)))
	}
	y = b.op("Softmax", []*onnxpb.AttributeProto{{Name: "axis", Type: onnxpb.AttributeProto_INT, I: 2}}, y)
	nodes := append(b.nodes, &onnxpb.NodeProto{OpType: "Identity", Input: []string{y}, Output: []string{"y"}})
	if !identity {
		nodes = b.nodes
		nodes[len(nodes)-1].Output[0] = "y"
	}
	m := &onnxpb.ModelProto{
		IrVersion:   8,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: 9}},
		Graph: &onnxpb.GraphProto{
			Name:   "head",
			Node:   nodes,
			Input:  []*onnxpb.ValueInfoProto{valueInfo("x", 1, 5, 4)},
			Output: []*onnxpb.ValueInfoProto{valueInfo("y", 1, 5, 7)},
		},
	}
	out, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRestrictClasses: the cut head's probabilities are the full head's
// for the kept classes, renormalised over them.
func TestRestrictClasses(t *testing.T) {
	keep := []int{0, 2, 3, 6}
	for _, bias := range []bool{true, false} {
		model := headModel(t, bias, false)
		cut, err := RestrictClasses(model, keep)
		if err != nil {
			t.Fatalf("bias %v: %v", bias, err)
		}
		x := make([]float32, 20)
		rng := rand.New(rand.NewPCG(13, 14))
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		full, _ := run(t, model, "x", "y", []int64{1, 5, 4}, x)
		got, shape := run(t, cut, "x", "y", []int64{1, 5, 4}, x)
		if len(got) != 5*len(keep) {
			t.Fatalf("bias %v: output shape %v", bias, shape)
		}
		for f := range 5 {
			var total float32
			for _, k := range keep {
				total += full[f*7+k]
			}
			for j, k := range keep {
				if want := full[f*7+k] / total; math.Abs(float64(got[f*len(keep)+j]-want)) > 1e-5 {
					t.Errorf("bias %v: frame %d class %d: %v, want %v", bias, f, k, got[f*len(keep)+j], want)
				}
			}
		}
	}
	if _, err := RestrictClasses(headModel(t, true, true), keep); err == nil {
		t.Error("output through Identity, not Softmax: want an error")
	}
	if _, err := RestrictClasses(lcnetModel(t), keep); err == nil {
		t.Error("a graph without a CTC head: want an error")
	}
	if _, err := RestrictClasses(headModel(t, true, false), []int{0, 7}); err == nil {
		t.Error("class 7 of 7: want an error")
	}
}
