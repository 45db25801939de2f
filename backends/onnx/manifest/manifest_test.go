package manifest_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/docstrange/mesh/backends/onnx/internal/modeltest"
	"github.com/docstrange/mesh/backends/onnx/manifest"
)

func TestLoadPinnedManifest(t *testing.T) {
	m := modeltest.Manifest(t)
	rec, ok := m.Model(manifest.TaskRecognize)
	if !ok {
		t.Fatal("no recognition model")
	}
	labels := rec.Recognize.Dictionary.Labels
	if len(labels) != 6625 || labels[0] != "" || labels[6624] != " " {
		t.Fatalf("labels: %d classes, first %q, last %q; want 6625, blank, space", len(labels), labels[0], labels[len(labels)-1])
	}
	for _, task := range []string{manifest.TaskDetect, manifest.TaskClassify} {
		if _, ok := m.Model(task); !ok {
			t.Errorf("no model for %s", task)
		}
	}
}

// fixture writes a tiny, valid model folder and returns it with its manifest.
func fixture(t *testing.T) (string, manifest.Manifest) {
	t.Helper()
	dir := t.TempDir()
	write := func(name, body string) string {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256([]byte(body))
		return hex.EncodeToString(s[:])
	}
	in := manifest.Input{
		Tensor:       manifest.Tensor{Name: "x", Shape: []int64{-1, 3, 48, -1}},
		ChannelOrder: "BGR", Scale: 1.0 / 255, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.5, 0.5, 0.5},
	}
	m := manifest.Manifest{
		Schema: 1, Name: "t", Version: "1",
		Runtime: manifest.Runtime{Name: "onnxruntime", Version: "1", File: "lib.so", SHA256: write("lib.so", "lib")},
		Models: []manifest.Model{
			{
				Name: "det", Version: "1", Task: manifest.TaskDetect, File: "det.onnx", SHA256: write("det.onnx", "det"),
				Input: in, Output: manifest.Tensor{Name: "y"},
				Detect: &manifest.Detect{LimitSideLen: 960, Stride: 32, Thresh: 0.3, BoxThresh: 0.6, UnclipRatio: 1.5, MinSize: 3},
			},
			{
				Name: "rec", Version: "1", Task: manifest.TaskRecognize, File: "rec.onnx", SHA256: write("rec.onnx", "rec"),
				Input: in, Output: manifest.Tensor{Name: "y"},
				Recognize: &manifest.Recognize{ImageHeight: 48, ImageWidth: 320, FrameStride: 8, Dictionary: manifest.Dictionary{
					File: "keys.txt", SHA256: write("keys.txt", "a\nb\nc"), Layout: []string{"blank", "file", "space"}, Lines: 3, Classes: 5,
				}},
			},
		},
	}
	save(t, dir, m)
	return dir, m
}

func save(t *testing.T, dir string, m manifest.Manifest) {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, manifest.FileName), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(dir string, m *manifest.Manifest)
		want   error
	}{
		{name: "valid", mutate: func(string, *manifest.Manifest) {}},
		{name: "schema", mutate: func(_ string, m *manifest.Manifest) { m.Schema = 2 }, want: manifest.ErrUnsupported},
		{name: "unknown task", mutate: func(_ string, m *manifest.Manifest) { m.Models[0].Task = "ocr.detekt" }, want: manifest.ErrUnsupported},
		{name: "duplicate task", mutate: func(_ string, m *manifest.Manifest) { m.Models[1].Task = manifest.TaskDetect }, want: manifest.ErrDuplicateTask},
		{name: "path escape", mutate: func(_ string, m *manifest.Manifest) { m.Models[0].File = "../det.onnx" }, want: manifest.ErrUnsupported},
		{name: "bad digest", mutate: func(_ string, m *manifest.Manifest) { m.Models[0].SHA256 = "abc" }, want: manifest.ErrUnsupported},
		{name: "limit not multiple of stride", mutate: func(_ string, m *manifest.Manifest) { m.Models[0].Detect.LimitSideLen = 1000 }, want: manifest.ErrOutOfRange},
		{name: "missing detect params", mutate: func(_ string, m *manifest.Manifest) { m.Models[0].Detect = nil }, want: manifest.ErrMissing},
		{name: "class count", mutate: func(_ string, m *manifest.Manifest) { m.Models[1].Recognize.Dictionary.Classes = 4 }, want: manifest.ErrMismatch},
		{name: "dictionary lines", mutate: func(_ string, m *manifest.Manifest) {
			m.Models[1].Recognize.Dictionary.Lines, m.Models[1].Recognize.Dictionary.Classes = 4, 6
		}, want: manifest.ErrMismatch},
		{name: "tampered file", mutate: func(dir string, _ *manifest.Manifest) {
			if err := os.WriteFile(filepath.Join(dir, "rec.onnx"), []byte("evil"), 0o644); err != nil {
				panic(err)
			}
		}, want: manifest.ErrChecksum},
		{name: "missing file", mutate: func(dir string, _ *manifest.Manifest) { _ = os.Remove(filepath.Join(dir, "det.onnx")) }, want: os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, m := fixture(t)
			tt.mutate(dir, &m)
			save(t, dir, m)
			got, err := manifest.Load(t.Context(), dir)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				rec, _ := got.Model(manifest.TaskRecognize)
				if l := rec.Recognize.Dictionary.Labels; len(l) != 5 || l[1] != "a" || l[4] != " " {
					t.Fatalf("labels %q", l)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Load error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestLoadRejectsUnknownField(t *testing.T) {
	dir, _ := fixture(t)
	if err := os.WriteFile(filepath.Join(dir, manifest.FileName), []byte(`{"schema":1,"nmae":"typo"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := manifest.Load(t.Context(), dir); err == nil {
		t.Fatal("Load accepted an unknown field")
	}
}
