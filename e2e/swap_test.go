package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

type adminBackend struct {
	Name         string   `json:"name"`
	Version      string   `json:"version"`
	State        string   `json:"state"`
	SwapCount    int      `json:"swap_count"`
	Requested    []string `json:"providers_requested"`
	Active       []string `json:"providers_active"`
	RestartCount int      `json:"restart_count"`
	Models       []struct {
		Name, SHA256 string
	} `json:"models"`
}

func (s *stack) adminDo(method, path, token string) *response {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.admin+path, nil)
	req = anonymous(req)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return s.do(req)
}

func (s *stack) onnxBackend() adminBackend {
	s.t.Helper()
	var out struct{ Backends []adminBackend }
	s.adminDo(http.MethodGet, "/admin/v1/backends", adminToken).json(s.t, &out)
	for _, b := range out.Backends {
		if b.Name == "onnx" {
			return b
		}
	}
	s.t.Fatalf("no onnx backend in %+v", out)
	return adminBackend{}
}

func TestAdminAuth(t *testing.T) {
	s := startStack(t, "DOCSTRANGE_WORKERS=-1")
	for _, tok := range []string{"", "wrong", adminToken + "x"} {
		r := s.adminDo(http.MethodGet, "/admin/v1/backends", tok)
		if r.status != http.StatusUnauthorized || r.apiError(t).Error.Code != "UNAUTHENTICATED" {
			t.Fatalf("token %q: %d %s", tok, r.status, r.body)
		}
	}
	if r := s.adminDo(http.MethodGet, "/admin/v1/backends", adminToken); r.status != http.StatusOK {
		t.Fatalf("good token: %d %s", r.status, r.body)
	}
	if r := s.adminDo(http.MethodPost, "/admin/v1/backends/onnx/reload", adminToken); r.status != http.StatusNotFound {
		t.Fatalf("reload without backends: %d %s", r.status, r.body)
	}
	if r := s.adminDo(http.MethodDelete, "/admin/v1/backends", adminToken); r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET" {
		t.Fatalf("wrong method: %d %s", r.status, r.body)
	}
	// The public listener does not serve the admin API.
	if r := s.get("/admin/v1/backends"); r.status != http.StatusNotFound {
		t.Fatalf("admin route on the public port: %d", r.status)
	}
}

// TestHotSwapUnderLoad swaps the OCR backend while jobs run, once through
// the admin API and once by dropping a new binary into the folder: no job
// fails, and the new version is in service afterwards.
func TestHotSwapUnderLoad(t *testing.T) {
	dir := t.TempDir()
	if err := copyFile(filepath.Join(backendsDir, "onnx"), filepath.Join(dir, "onnx")); err != nil {
		t.Fatal(err)
	}
	s := startStack(t, "DOCSTRANGE_BACKENDS_DIR="+dir)
	v1 := s.onnxBackend()
	if v1.State != "running" || len(v1.Models) < 2 || v1.Active[0] != "cpu" {
		t.Fatalf("backend before the swap: %+v", v1)
	}
	page := pngBytes(t, textImage(t, ocrLines...))

	var wg sync.WaitGroup
	stop := make(chan struct{})
	var mu sync.Mutex
	var ids []string
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				j := s.submitOK("scan.png", page, nil)
				mu.Lock()
				ids = append(ids, j.JobID)
				mu.Unlock()
				time.Sleep(300 * time.Millisecond)
			}
		})
	}
	swap := func(version string, viaAdmin bool) {
		tmp := filepath.Join(dir, ".onnx-"+version)
		if err := goBuildVersion(tmp, version); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "onnx")); err != nil {
			t.Fatal(err)
		}
		if viaAdmin {
			r := s.adminDo(http.MethodPost, "/admin/v1/backends/onnx/reload", adminToken)
			if r.status != http.StatusOK {
				t.Errorf("reload: %d %s", r.status, r.body)
			}
		}
		deadline := time.Now().Add(60 * time.Second)
		for s.onnxBackend().Version != version {
			if time.Now().After(deadline) {
				t.Fatalf("version %s never in service: %+v", version, s.onnxBackend())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	time.Sleep(time.Second)
	swap("v2-admin", true)
	time.Sleep(time.Second)
	swap("v3-file", false)
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	if len(ids) < 4 {
		t.Fatalf("only %d jobs ran during the swaps", len(ids))
	}
	for _, id := range ids {
		if j := s.waitFor(id, 120*time.Second); j.Status != "succeeded" {
			t.Errorf("job %s during swaps: %+v", id, j)
		}
	}
	b := s.onnxBackend()
	if b.Version != "v3-file" || b.SwapCount < 2 || b.RestartCount != 0 {
		t.Fatalf("backend after swaps: %+v", b)
	}
}

func goBuildVersion(out, version string) error {
	return goBuildFlags(out, "../backends/onnx/cmd/docstrange-onnx", "-ldflags", "-X main.version="+version)
}
