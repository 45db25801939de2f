package ort_test

import (
	"context"
	"errors"
	"testing"

	"github.com/docstrange/mesh/backends/onnx/internal/modeltest"
	"github.com/docstrange/mesh/backends/onnx/manifest"
	"github.com/docstrange/mesh/backends/onnx/ort"
)

func open(t *testing.T) (*ort.Runtime, string) {
	t.Helper()
	m := modeltest.Manifest(t)
	rt, err := ort.Open(m.Path(m.Runtime.File))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	cls, _ := m.Model(manifest.TaskClassify)
	return rt, m.Path(cls.File)
}

// runCls feeds a grey crop to the orientation classifier and checks the
// output is a probability pair.
func runCls(t *testing.T, s *ort.Session) {
	t.Helper()
	in := ort.Tensor{Shape: []int64{1, 3, 48, 192}, Data: make([]float32, 3*48*192)}
	out, err := s.Run(t.Context(), in)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(out) != 1 || len(out[0].Data) != 2 {
		t.Fatalf("output %+v", out)
	}
	if sum := out[0].Data[0] + out[0].Data[1]; sum < 0.99 || sum > 1.01 {
		t.Fatalf("softmax sums to %v", sum)
	}
}

func TestProviderFallback(t *testing.T) {
	rt, model := open(t)
	tests := []struct {
		name     string
		cfg      ort.Config
		fallback bool
	}{
		{name: "cpu", cfg: ort.Config{}},
		{name: "cuda", cfg: ort.Config{Provider: ort.ProviderCUDA, DeviceID: 0}, fallback: true},
		{name: "tensorrt", cfg: ort.Config{Provider: ort.ProviderTensorRT, TensorRTFP16: true, TensorRTEngineCacheDir: t.TempDir()}, fallback: true},
		{name: "pool of two on cuda", cfg: ort.Config{Provider: ort.ProviderCUDA, PoolSize: 2, IntraOpThreads: 1}, fallback: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := rt.NewSession(t.Context(), model, tt.cfg)
			if err != nil {
				t.Fatalf("NewSession: %v", err)
			}
			t.Cleanup(func() { _ = s.Close() })
			r := s.Report()
			want := tt.cfg.Provider
			if want == "" {
				want = ort.ProviderCPU
			}
			if r.Requested != want {
				t.Errorf("requested %q, want %q", r.Requested, want)
			}
			// This machine has no GPU provider library; a CI runner with one
			// would legitimately not fall back.
			if tt.fallback && r.Active == r.Requested {
				t.Skipf("%s provider loaded; no fallback to test", r.Active)
			}
			if tt.fallback && (r.Active != ort.ProviderCPU || r.Reason == "" || !r.Fallback()) {
				t.Errorf("report %+v, want active cpu with a reason", r)
			}
			if !tt.fallback && (r.Active != ort.ProviderCPU || r.Reason != "" || r.Fallback()) {
				t.Errorf("report %+v, want cpu without a reason", r)
			}
			t.Logf("report: %+v", r)
			runCls(t, s)
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  ort.Config
		want error
	}{
		{name: "defaults", cfg: ort.Config{}},
		{name: "typo", cfg: ort.Config{Provider: "cdua"}, want: ort.ErrUnknownProvider},
		{name: "negative pool", cfg: ort.Config{PoolSize: -1}, want: errAny},
		{name: "negative threads", cfg: ort.Config{IntraOpThreads: -2}, want: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			err := cfg.Validate()
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.want == nil:
				if cfg.Provider != ort.ProviderCPU || cfg.PoolSize != 1 {
					t.Fatalf("defaults not filled: %+v", cfg)
				}
			case tt.want == errAny && err == nil:
				t.Fatal("Validate accepted a bad config")
			case tt.want != errAny && !errors.Is(err, tt.want):
				t.Fatalf("Validate error %v, want %v", err, tt.want)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestRunCancelled(t *testing.T) {
	rt, model := open(t)
	s, err := rt.NewSession(t.Context(), model, ort.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	in := ort.Tensor{Shape: []int64{1, 3, 48, 192}, Data: make([]float32, 3*48*192)}
	// A cancelled context either wins the race for the session or makes
	// ONNX Runtime terminate the run; both report the cancellation.
	if _, err := s.Run(ctx, in); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Run error %v, want context.Canceled", err)
	}
	if _, err := s.Run(t.Context(), in); err != nil {
		t.Fatalf("Run after cancellation: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(t.Context(), in); !errors.Is(err, ort.ErrClosed) {
		t.Fatalf("Run after Close: %v, want ErrClosed", err)
	}
}

func TestOpenOtherLibrary(t *testing.T) {
	open(t)
	if _, err := ort.Open("/nonexistent/libonnxruntime.so"); !errors.Is(err, ort.ErrOtherLibrary) {
		t.Fatalf("Open second library: %v, want ErrOtherLibrary", err)
	}
}
