package host_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/docstrange/mesh/plugins"
	"github.com/docstrange/mesh/plugins/host"
)

func sha256Of(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func TestStartAndList(t *testing.T) {
	dir := t.TempDir()
	install(t, bins.v1, filepath.Join(dir, "ocr"))
	install(t, bins.v1, filepath.Join(dir, "layout", "testbackend-v1"))
	h, err := startHost(t, fastConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	list := h.List()
	if len(list) != 2 || list[0].Name != "layout" || list[1].Name != "ocr" {
		t.Fatalf("List = %+v", list)
	}
	s := list[1]
	if s.State != host.StateRunning || s.Version != "v1" || s.APIVersion != plugins.APIVersion1_1 || s.PID == 0 ||
		s.Path != filepath.Join(dir, "ocr") || s.SHA256 != sha256Of(t, bins.v1) {
		t.Errorf("status = %+v", s)
	}
	if s.Providers.Reason == "" || len(s.Providers.Active) != 1 || s.Providers.Active[0] != "cpu" || len(s.Models) != 1 {
		t.Errorf("providers/models = %+v %+v", s.Providers, s.Models)
	}
	if list[0].Path != filepath.Join(dir, "layout", "testbackend-v1") {
		t.Errorf("layout path = %s", list[0].Path)
	}
	texts, err := recognize(t.Context(), h.Host, "ocr", 2, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if texts[0] != "p0 2x3 v1" || texts[1] != "p1 3x3 v1" {
		t.Errorf("texts = %q", texts)
	}
	// The periodic health check records the backend's own words.
	eventually(t, 5*time.Second, "health checked", func() bool {
		return status(t, h, "ocr").Health.Status == plugins.HealthDegraded
	})
	err = h.Process(t.Context(), "nope", &plugins.ProcessRequest{}, func(plugins.ItemResult) error { return nil })
	if !errors.Is(err, host.ErrUnknownBackend) {
		t.Errorf("unknown backend: err = %v", err)
	}
	err = h.Process(t.Context(), "ocr", &plugins.ProcessRequest{Task: "translate"}, func(plugins.ItemResult) error { return nil })
	if !errors.Is(err, plugins.ErrUnsupportedTask) {
		t.Errorf("unsupported task: err = %v", err)
	}
}

func TestChecksumPinning(t *testing.T) {
	tests := []struct {
		name    string
		pin     func(t *testing.T) string
		wantErr bool
	}{
		{name: "matching pin starts", pin: func(t *testing.T) string { return sha256Of(t, bins.v1) }},
		{name: "mismatching pin refused", pin: func(t *testing.T) string { return sha256Of(t, bins.v2) }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "ocr")
			install(t, bins.v1, path)
			cfg := fastConfig(dir)
			pin := tt.pin(t)
			cfg.Backends = map[string]host.BackendConfig{"ocr": {SHA256: pin}}
			h, err := startHost(t, cfg)
			s := status(t, h, "ocr")
			if !tt.wantErr {
				if err != nil || s.State != host.StateRunning {
					t.Fatalf("Start = %v, state %s", err, s.State)
				}
				return
			}
			if !errors.Is(err, host.ErrChecksumMismatch) {
				t.Fatalf("Start err = %v, want ErrChecksumMismatch", err)
			}
			for _, want := range []string{path, pin, sha256Of(t, bins.v1), "checksum mismatch"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %q", err, want)
				}
			}
			t.Logf("refusal: %v", err)
			if s.State != host.StateFailed || s.PID != 0 || !strings.Contains(s.LastError, "checksum mismatch") {
				t.Errorf("status = %+v", s)
			}
			_, err = recognize(t.Context(), h.Host, "ocr", 1, 0, nil)
			if !errors.Is(err, host.ErrNotRunning) || !errors.Is(err, host.ErrChecksumMismatch) {
				t.Errorf("Process err = %v, want ErrNotRunning and ErrChecksumMismatch", err)
			}
		})
	}
}

func TestAPIVersionRefused(t *testing.T) {
	dir := t.TempDir()
	install(t, bins.v1, filepath.Join(dir, "ocr"))
	cfg := fastConfig(dir)
	cfg.Backends = map[string]host.BackendConfig{"ocr": {Env: []string{"TESTBACKEND_API_VERSIONS=v2,v3"}}}
	_, err := startHost(t, cfg)
	if !errors.Is(err, plugins.ErrNoCommonAPIVersion) || !strings.Contains(err.Error(), "host supports [v1, v1.1], plugin supports [v2, v3]") {
		t.Fatalf("Start err = %v", err)
	}
}

// TestGrayImagesForOlderBackends sends the same gray page to a backend that
// speaks v1.1 and to one that speaks only v1, which refuses ImageGray: the
// host expands it to RGBA for the latter, and both read the page.
func TestGrayImagesForOlderBackends(t *testing.T) {
	for _, tc := range []struct {
		versions, negotiated string
	}{
		{"", plugins.APIVersion1_1},
		{"v1", plugins.APIVersion1},
	} {
		t.Run("api="+tc.negotiated, func(t *testing.T) {
			dir := t.TempDir()
			install(t, bins.v1, filepath.Join(dir, "ocr"))
			cfg := fastConfig(dir)
			if tc.versions != "" {
				cfg.Backends = map[string]host.BackendConfig{"ocr": {Env: []string{"TESTBACKEND_API_VERSIONS=" + tc.versions}}}
			}
			h, err := startHost(t, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := status(t, h, "ocr").APIVersion; got != tc.negotiated {
				t.Fatalf("negotiated %q, want %q", got, tc.negotiated)
			}
			req := &plugins.ProcessRequest{Task: plugins.TaskOCRRecognize, Items: []plugins.Item{
				{ID: "g", Image: plugins.Image{Format: plugins.ImageGray, Data: make([]byte, 4*3), Width: 4, Height: 3}},
				rgba("c", 2, 2),
			}}
			var texts []string
			err = h.Process(t.Context(), "ocr", req, func(r plugins.ItemResult) error {
				if r.Err != nil {
					return r.Err
				}
				texts = append(texts, r.Lines[0].Text)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(texts, []string{"g 4x3 v1", "c 2x2 v1"}) {
				t.Errorf("texts = %q", texts)
			}
			if req.Items[0].Image.Format != plugins.ImageGray {
				t.Error("the caller's request was changed")
			}
		})
	}
}

func TestCrashRestartsAndRetriesInFlightWork(t *testing.T) {
	dir := t.TempDir()
	install(t, bins.v1, filepath.Join(dir, "ocr"))
	h, err := startHost(t, fastConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	before := status(t, h, "ocr")
	killed := false
	start := time.Now()
	texts, err := recognize(t.Context(), h.Host, "ocr", 5, 200*time.Millisecond, func(r plugins.ItemResult) {
		if !killed {
			killed = true
			if err := syscall.Kill(before.PID, syscall.SIGKILL); err != nil {
				t.Errorf("kill -9 %d: %v", before.PID, err)
			}
		}
	})
	if err != nil {
		t.Fatalf("Process after kill -9: %v", err)
	}
	t.Logf("5 items with kill -9 after the first took %s: %q", time.Since(start), texts)
	after := status(t, h, "ocr")
	if after.RestartCount != 1 || after.PID == before.PID || after.State != host.StateRunning {
		t.Errorf("after crash: %+v", after)
	}
	if _, ok := h.logs.find("retrying in-flight work on a new backend process"); !ok {
		t.Error("no retry logged")
	}
	if got := h.metrics.GetOrCreateCounter(`docstrange_backend_restarts_total{backend="ocr"}`).Get(); got != 1 {
		t.Errorf("restarts metric = %d", got)
	}
}

func TestReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ocr")
	install(t, bins.v1, path)
	cfg := fastConfig(dir)
	cfg.DisableWatch = true
	h, err := startHost(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	l := startLoad(t.Context(), h.Host, "ocr", 8, stop)
	time.Sleep(300 * time.Millisecond)
	install(t, bins.v2, path)
	start := time.Now()
	if err := h.Reload(t.Context(), "ocr"); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	t.Logf("Reload took %s", time.Since(start))
	time.Sleep(500 * time.Millisecond)
	close(stop)
	l.wait(t)
	checkSwapped(t, h, "v2", 1)
	if l.versions["v1"] == 0 || l.versions["v2"] == 0 {
		t.Errorf("want results from both versions, got %v", l.versions)
	}
}

func TestFileDropSwapsUnderLoad(t *testing.T) {
	dir := t.TempDir()
	install(t, bins.v1, filepath.Join(dir, "ocr", "testbackend-v1"))
	h, err := startHost(t, fastConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	l := startLoad(t.Context(), h.Host, "ocr", 8, stop)
	time.Sleep(300 * time.Millisecond)
	// Make sure the new file is the newer one even on a coarse clock.
	time.Sleep(10 * time.Millisecond)
	install(t, bins.v2, filepath.Join(dir, "ocr", "testbackend-v2"))
	start := time.Now()
	eventually(t, 20*time.Second, "v2 serving", func() bool { return status(t, h, "ocr").Version == "v2" })
	t.Logf("file drop to v2 serving took %s", time.Since(start))
	time.Sleep(500 * time.Millisecond)
	close(stop)
	l.wait(t)
	checkSwapped(t, h, "v2", 1)
}

// checkSwapped checks that backend ocr runs version with swaps swaps and
// that the old process is drained and gone.
func checkSwapped(t *testing.T, h *testHost, version string, swaps int) {
	t.Helper()
	info, err := h.Backend("ocr").Info(t.Context())
	if err != nil || info.Version != version {
		t.Errorf("Info = %+v, %v; want version %s", info, err, version)
	}
	eventually(t, 10*time.Second, "old process drained", func() bool { return status(t, h, "ocr").Draining == 0 })
	s := status(t, h, "ocr")
	if s.Version != version || s.SwapCount != swaps || s.RestartCount != 0 || s.InFlight != 0 {
		t.Errorf("status = %+v", s)
	}
	if got := h.metrics.GetOrCreateCounter(`docstrange_backend_swaps_total{backend="ocr",result="ok"}`).Get(); got != uint64(swaps) {
		t.Errorf("swaps metric = %d", got)
	}
}

func TestReloadRefusesUnhealthyVersion(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ocr")
	install(t, bins.v1, path)
	cfg := fastConfig(dir)
	cfg.DisableWatch = true
	h, err := startHost(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	install(t, bins.unhealthy, path)
	err = h.Reload(t.Context(), "ocr")
	if !errors.Is(err, host.ErrUnhealthy) {
		t.Fatalf("Reload err = %v, want ErrUnhealthy", err)
	}
	s := status(t, h, "ocr")
	if s.Version != "v1" || s.State != host.StateRunning || s.SwapCount != 0 {
		t.Errorf("status after refused swap = %+v", s)
	}
	if _, err := recognize(t.Context(), h.Host, "ocr", 1, 0, nil); err != nil {
		t.Errorf("v1 no longer serves: %v", err)
	}
}

func TestCancelAbortsBackendProcess(t *testing.T) {
	dir := t.TempDir()
	install(t, bins.v1, filepath.Join(dir, "ocr"))
	h, err := startHost(t, fastConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := recognize(ctx, h.Host, "ocr", 1, 30*time.Second, nil)
		errc <- err
	}()
	eventually(t, 5*time.Second, "call in flight", func() bool { return status(t, h, "ocr").InFlight == 1 })
	time.Sleep(100 * time.Millisecond)
	cancelled := time.Now()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Process still running 2s after cancel")
	}
	// The backend logs when its ctx ends; the line reaches the host's
	// logger through go-plugin and the hclog bridge.
	eventually(t, 2*time.Second, "backend logged the cancellation", func() bool {
		_, ok := h.logs.find("process cancelled")
		return ok
	})
	r, _ := h.logs.find("process cancelled")
	t.Logf("backend aborted %s after cancel (record at %s)", time.Since(cancelled), r.Time.Sub(cancelled))
	if r.Level != slog.LevelInfo {
		t.Errorf("level = %s", r.Level)
	}
	if s := status(t, h, "ocr"); s.InFlight != 0 || s.RestartCount != 0 {
		t.Errorf("status = %+v", s)
	}
}

func TestDrainTimeoutRetriesOnNewVersion(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ocr")
	install(t, bins.v1, path)
	cfg := fastConfig(dir)
	cfg.DisableWatch = true
	cfg.DrainTimeout = caddy.Duration(150 * time.Millisecond)
	h, err := startHost(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		texts []string
		err   error
	}
	done := make(chan result, 1)
	go func() {
		texts, err := recognize(t.Context(), h.Host, "ocr", 6, 100*time.Millisecond, nil)
		done <- result{texts, err}
	}()
	eventually(t, 5*time.Second, "call in flight", func() bool { return status(t, h, "ocr").InFlight == 1 })
	install(t, bins.v2, path)
	if err := h.Reload(t.Context(), "ocr"); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("long call across a swap whose drain timed out: %v", r.err)
	}
	t.Logf("texts: %q", r.texts)
	if !strings.HasSuffix(r.texts[0], " v1") || !strings.HasSuffix(r.texts[len(r.texts)-1], " v2") {
		t.Errorf("want v1 results, then the rest retried on v2; got %q", r.texts)
	}
	if _, ok := h.logs.find("drain timed out, stopping backend with calls in flight"); !ok {
		t.Error("drain did not time out")
	}
	if s := status(t, h, "ocr"); s.RestartCount != 0 || s.SwapCount != 1 {
		t.Errorf("status = %+v", s)
	}
}

func TestFailedHealthChecksRestartWithBackoff(t *testing.T) {
	dir := t.TempDir()
	install(t, bins.v1, filepath.Join(dir, "ocr"))
	sick := filepath.Join(t.TempDir(), "sick")
	cfg := fastConfig(dir)
	cfg.HealthInterval = caddy.Duration(50 * time.Millisecond)
	cfg.FailureThreshold = 2
	cfg.Backends = map[string]host.BackendConfig{"ocr": {Env: []string{"TESTBACKEND_UNHEALTHY_FILE=" + sick}}}
	h, err := startHost(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	first := status(t, h, "ocr").PID
	if err := os.WriteFile(sick, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Restarts fail their health check while the file exists; calls wait.
	failures := h.metrics.GetOrCreateCounter(`docstrange_backend_restart_failures_total{backend="ocr"}`)
	eventually(t, 10*time.Second, "two restart attempts failing", func() bool { return failures.Get() >= 2 })
	if s := status(t, h, "ocr"); s.State != host.StateRestarting || !strings.Contains(s.LastError, "unhealthy") || s.RestartCount != 0 {
		t.Errorf("status while restarts fail = %+v", s)
	}
	if err := os.Remove(sick); err != nil {
		t.Fatal(err)
	}
	texts, err := recognize(t.Context(), h.Host, "ocr", 1, 0, nil)
	if err != nil {
		t.Fatalf("call while restarting: %v", err)
	}
	s := status(t, h, "ocr")
	if s.RestartCount != 1 || s.PID == first || s.State != host.StateRunning {
		t.Errorf("status = %+v", s)
	}
	t.Logf("served %q after restart; restart failures %d", texts, failures.Get())
}
