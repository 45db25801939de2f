package host_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/caddyserver/caddy/v2"

	"github.com/docstrange/mesh/plugins"
	"github.com/docstrange/mesh/plugins/host"
)

// logSink keeps every log record, to search and to print on failure.
type logSink struct {
	mu      sync.Mutex
	attrs   []slog.Attr
	records *[]slog.Record
	shared  *sync.Mutex
}

func newLogSink() *logSink {
	return &logSink{records: new([]slog.Record), shared: new(sync.Mutex)}
}

func (s *logSink) Enabled(context.Context, slog.Level) bool { return true }

func (s *logSink) Handle(_ context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(s.attrs...)
	s.shared.Lock()
	*s.records = append(*s.records, r)
	s.shared.Unlock()
	return nil
}

func (s *logSink) WithAttrs(as []slog.Attr) slog.Handler {
	return &logSink{attrs: append(append([]slog.Attr(nil), s.attrs...), as...), records: s.records, shared: s.shared}
}

func (s *logSink) WithGroup(string) slog.Handler { return s }

// find returns the first record with msg, and whether there is one.
func (s *logSink) find(msg string) (slog.Record, bool) {
	s.shared.Lock()
	defer s.shared.Unlock()
	for _, r := range *s.records {
		if r.Message == msg {
			return r, true
		}
	}
	return slog.Record{}, false
}

func (s *logSink) dump(w io.Writer) {
	s.shared.Lock()
	defer s.shared.Unlock()
	for _, r := range *s.records {
		var b strings.Builder
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		})
		fmt.Fprintf(w, "%s %s %q%s\n", r.Time.Format("15:04:05.000"), r.Level, r.Message, b.String())
	}
}

// testHost is a started Host with its log and metrics.
type testHost struct {
	*host.Host
	dir     string
	logs    *logSink
	metrics *metrics.Set
}

// fastConfig returns a config for dir with timings fit for tests.
func fastConfig(dir string) host.Config {
	return host.Config{
		Dir:               dir,
		HealthInterval:    caddy.Duration(200 * time.Millisecond),
		HealthTimeout:     caddy.Duration(2 * time.Second),
		RestartBackoffMin: caddy.Duration(50 * time.Millisecond),
		RestartBackoffMax: caddy.Duration(time.Second),
		DrainTimeout:      caddy.Duration(10 * time.Second),
		StartTimeout:      caddy.Duration(20 * time.Second),
		SettleDelay:       caddy.Duration(100 * time.Millisecond),
	}
}

// startHost starts a host for cfg and closes it in t.Cleanup. It returns
// Start's error too, since some tests expect one.
func startHost(t *testing.T, cfg host.Config) (*testHost, error) {
	t.Helper()
	logs := newLogSink()
	set := metrics.NewSet()
	h, err := host.New(cfg, slog.New(logs), set)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	startErr := h.Start(ctx)
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer ccancel()
		if err := h.Close(cctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		cancel()
		if t.Failed() {
			logs.dump(os.Stderr)
		}
	})
	return &testHost{Host: h, dir: cfg.Dir, logs: logs, metrics: set}, startErr
}

// install puts the binary src at dst the way an operator should: written
// under a hidden name next to it, then renamed into place.
func install(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp")
	if err := os.WriteFile(tmp, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

func status(t *testing.T, h *testHost, name string) host.Status {
	t.Helper()
	for _, s := range h.List() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("backend %q not listed", name)
	return host.Status{}
}

// rgba returns an item with a w×h RGBA image.
func rgba(id string, w, h int) plugins.Item {
	return plugins.Item{ID: id, Image: plugins.Image{Format: plugins.ImageRGBA, Data: make([]byte, w*h*4), Width: w, Height: h}}
}

// recognize runs ocr.recognize over n items with the given per-item delay
// and checks that every item got exactly one good result. It returns the
// texts in completion order.
func recognize(ctx context.Context, h *host.Host, name string, n int, delay time.Duration, onResult func(plugins.ItemResult)) ([]string, error) {
	req := &plugins.ProcessRequest{
		Task:    plugins.TaskOCRRecognize,
		Options: plugins.Options{Extra: map[string]string{"delay": delay.String()}},
	}
	for i := range n {
		req.Items = append(req.Items, rgba(fmt.Sprintf("p%d", i), 2+i, 3))
	}
	seen := map[string]bool{}
	var texts []string
	err := h.Process(ctx, name, req, func(r plugins.ItemResult) error {
		if seen[r.ItemID] {
			return fmt.Errorf("item %s emitted twice", r.ItemID)
		}
		seen[r.ItemID] = true
		if r.Err != nil {
			return fmt.Errorf("item %s: %w", r.ItemID, r.Err)
		}
		texts = append(texts, r.Lines[0].Text)
		if onResult != nil {
			onResult(r)
		}
		return nil
	})
	if err != nil {
		return texts, err
	}
	if len(seen) != n {
		return texts, fmt.Errorf("got %d results, want %d", len(seen), n)
	}
	return texts, nil
}

// load runs workers that call recognize in a loop until stop is closed,
// and counts calls, failures and the versions that answered.
type load struct {
	calls, failures atomic.Int64
	mu              sync.Mutex
	versions        map[string]int
	errs            []error
	wg              sync.WaitGroup
}

func startLoad(ctx context.Context, h *host.Host, name string, workers int, stop <-chan struct{}) *load {
	l := &load{versions: map[string]int{}}
	for range workers {
		l.wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				texts, err := recognize(ctx, h, name, 3, 15*time.Millisecond, nil)
				l.calls.Add(1)
				l.mu.Lock()
				if err != nil {
					l.failures.Add(1)
					l.errs = append(l.errs, err)
				}
				for _, text := range texts {
					f := strings.Fields(text)
					l.versions[f[len(f)-1]]++
				}
				l.mu.Unlock()
			}
		})
	}
	return l
}

func (l *load) wait(t *testing.T) {
	t.Helper()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("load: %d calls, %d failed, results by version %v", l.calls.Load(), l.failures.Load(), l.versions)
	if n := l.failures.Load(); n > 0 {
		t.Errorf("%d calls failed, first: %v", n, errors.Join(l.errs[:min(3, len(l.errs))]...))
	}
}

// eventually polls cond every 20ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
