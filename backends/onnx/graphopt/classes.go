package graphopt

import (
	"fmt"

	"github.com/docstrange/mesh/backends/onnx/internal/onnxpb"
)

// RestrictClasses returns a classifier whose output keeps only the classes
// keep (indices into the original output's last axis, in the new order).
// The graph must end in MatMul by a constant [features, classes] weight,
// optionally Add of a constant bias, then Softmax, as PaddleOCR's CTC head
// does; the weight's and bias's other columns are dropped, so the head and
// its softmax cost len(keep)/classes of what they did. The softmax then
// normalises over the kept classes: each probability is the original one
// over the kept classes' total.
func RestrictClasses(model []byte, keep []int) ([]byte, error) {
	m, err := parse(model)
	if err != nil {
		return nil, err
	}
	g := newGraph(m.Graph)
	if len(m.Graph.Output) != 1 {
		return nil, fmt.Errorf("restricting classes: %d graph outputs, want 1", len(m.Graph.Output))
	}
	soft := g.producer[m.Graph.Output[0].Name]
	if !g.live(soft, "Softmax") {
		return nil, fmt.Errorf("restricting classes: the output is not a Softmax's")
	}
	head := g.producer[soft.Input[0]]
	var bias *onnxpb.NodeProto
	if g.live(head, "Add") {
		bias, head = head, nil
		for _, in := range bias.Input {
			if p := g.producer[in]; g.live(p, "MatMul") {
				head = p
			}
		}
	}
	if !g.live(head, "MatMul") || len(head.Input) != 2 {
		return nil, fmt.Errorf("restricting classes: no MatMul by a constant before the Softmax")
	}
	w, dims, ok := g.floats(head.Input[1])
	if !ok || len(dims) != 2 {
		return nil, fmt.Errorf("restricting classes: the MatMul's weight is not a constant matrix")
	}
	features, classes := int(dims[0]), int(dims[1])
	for _, k := range keep {
		if k < 0 || k >= classes {
			return nil, fmt.Errorf("restricting classes: class %d out of %d", k, classes)
		}
	}
	if len(keep) == 0 {
		return nil, fmt.Errorf("restricting classes: no class to keep")
	}
	nw := make([]float32, features*len(keep))
	for f := range features {
		for j, k := range keep {
			nw[f*len(keep)+j] = w[f*classes+k]
		}
	}
	head.Input[1] = g.addConst(head.Input[1], []int64{int64(features), int64(len(keep))}, nw)
	if bias != nil {
		i := 0
		if bias.Input[0] == head.Output[0] {
			i = 1
		}
		b, _, ok := g.floats(bias.Input[i])
		if !ok || len(b) != classes {
			return nil, fmt.Errorf("restricting classes: the bias is not a constant of %d classes", classes)
		}
		nb := make([]float32, len(keep))
		for j, k := range keep {
			nb[j] = b[k]
		}
		bias.Input[i] = g.addConst(bias.Input[i], []int64{int64(len(keep))}, nb)
	}
	// The output's declared shape, if any, loses its class count.
	if tt, ok := m.Graph.Output[0].GetType().GetValue().(*onnxpb.TypeProto_TensorType); ok {
		if sh := tt.TensorType.GetShape(); sh != nil && len(sh.Dim) > 0 {
			sh.Dim[len(sh.Dim)-1] = &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(len(keep))}}
		}
	}
	g.compact()
	return encode(m)
}
