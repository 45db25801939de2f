package ort_test

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/docstrange/mesh/backends/onnx/internal/modeltest"
	"github.com/docstrange/mesh/backends/onnx/internal/onnxpb"
	"github.com/docstrange/mesh/backends/onnx/ort"
)

// lookupModel is y = DequantizeLinear(LookupTable(QuantizeLinear(x), table))
// with unit steps and zero points 0, so that y[i] = table[clamp(round(x[i]))].
func lookupModel(t *testing.T, table []byte) []byte {
	t.Helper()
	f32 := func(name string, v float32) *onnxpb.TensorProto {
		raw := make([]byte, 4)
		binary.LittleEndian.PutUint32(raw, math.Float32bits(v))
		return &onnxpb.TensorProto{Name: name, DataType: int32(onnxpb.TensorProto_FLOAT), RawData: raw}
	}
	u8 := func(name string, dims []int64, v []byte) *onnxpb.TensorProto {
		return &onnxpb.TensorProto{Name: name, Dims: dims, DataType: int32(onnxpb.TensorProto_UINT8), RawData: v}
	}
	tensor := func(name string, et onnxpb.TensorProto_DataType) *onnxpb.ValueInfoProto {
		return &onnxpb.ValueInfoProto{Name: name, Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: int32(et)}}}}
	}
	m := &onnxpb.ModelProto{
		IrVersion:   8,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: 13}, {Domain: ort.LookupDomain, Version: 1}},
		Graph: &onnxpb.GraphProto{
			Name: "lookup",
			Node: []*onnxpb.NodeProto{
				{OpType: "QuantizeLinear", Input: []string{"x", "s", "z"}, Output: []string{"xq"}},
				{OpType: ort.LookupOp, Domain: ort.LookupDomain, Input: []string{"xq", "table"}, Output: []string{"yq"}},
				{OpType: "DequantizeLinear", Input: []string{"yq", "s", "z"}, Output: []string{"y"}},
			},
			Initializer: []*onnxpb.TensorProto{f32("s", 1), u8("z", nil, []byte{0}), u8("table", []int64{int64(len(table))}, table)},
			Input:       []*onnxpb.ValueInfoProto{tensor("x", onnxpb.TensorProto_FLOAT)},
			Output:      []*onnxpb.ValueInfoProto{tensor("y", onnxpb.TensorProto_FLOAT)},
		},
	}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLookupTableOperator runs the custom operator inside a session: every
// code maps through the table, in the input's shape, on one thread and on
// two, and a table of the wrong size fails the run with a clear error.
func TestLookupTableOperator(t *testing.T) {
	rt, _ := open(t)
	if err := rt.LookupTable(); err != nil {
		t.Fatalf("LookupTable: %v", err)
	}
	table := make([]byte, 256)
	for i := range table {
		table[i] = byte(255 - i)
	}
	in := ort.Tensor{Shape: []int64{2, 3, 5, 20}, Data: make([]float32, 600)}
	for i := range in.Data {
		in.Data[i] = float32(i % 256)
	}
	for _, threads := range []int{1, 2} {
		s, err := rt.NewSessionFromBytes(t.Context(), "lookup", lookupModel(t, table), ort.Config{IntraOpThreads: threads})
		if err != nil {
			t.Fatalf("NewSessionFromBytes: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		out, err := s.Run(t.Context(), in)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if got := out[0].Shape; len(got) != 4 || got[0] != 2 || got[1] != 3 || got[2] != 5 || got[3] != 20 {
			t.Fatalf("output shape %v, want [2 3 5 20]", got)
		}
		for i, v := range out[0].Data {
			if want := float32(255 - i%256); v != want {
				t.Fatalf("threads %d: y[%d] = %v, want %v", threads, i, v, want)
			}
		}
	}

	s, err := rt.NewSessionFromBytes(t.Context(), "short table", lookupModel(t, table[:100]), ort.Config{})
	if err != nil {
		t.Fatalf("NewSessionFromBytes: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Run(t.Context(), in); err == nil || !strings.Contains(err.Error(), "256 entries") {
		t.Fatalf("Run with a 100-entry table: %v, want the table size error", err)
	}
}

// TestLookupTableThroughSymlink: a runtime reopened through another path
// to the same library (a models folder of symlinks) keeps the operator.
func TestLookupTableThroughSymlink(t *testing.T) {
	m := modeltest.Manifest(t)
	lib := m.Path(m.Runtime.File)
	rt, err := ort.Open(lib)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.LookupTable(); err != nil {
		t.Fatalf("LookupTable: %v", err)
	}
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), m.Runtime.File)
	if err := os.Symlink(lib, link); err != nil {
		t.Fatal(err)
	}
	rt, err = ort.Open(link)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	if err := rt.LookupTable(); err != nil {
		t.Fatalf("LookupTable through %s: %v", link, err)
	}
	table := make([]byte, 256)
	for i := range table {
		table[i] = byte(i / 2)
	}
	s, err := rt.NewSessionFromBytes(t.Context(), "lookup", lookupModel(t, table), ort.Config{})
	if err != nil {
		t.Fatalf("NewSessionFromBytes: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	out, err := s.Run(t.Context(), ort.Tensor{Shape: []int64{3}, Data: []float32{0, 100, 255}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := out[0].Data; got[0] != 0 || got[1] != 50 || got[2] != 127 {
		t.Fatalf("y = %v, want [0 50 127]", got)
	}
}
