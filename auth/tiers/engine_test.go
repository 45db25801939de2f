package tiers

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/docstrange/mesh/policy"
)

func embeddedData(t testing.TB) map[string]any {
	t.Helper()
	raw, err := fs.ReadFile(policy.FS, policy.TiersFile)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func writeJSON(t testing.TB, path string, v any) {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func submit(tier string, opts Options, size int64) Input {
	return Input{Tier: tier, Tenant: "t1", Method: "POST", Route: "/api/v1/documents", Options: opts, Size: size}
}

func TestDecide(t *testing.T) {
	e, err := New(t.Context(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		in         Input
		allow      bool
		reason     string
		feature    string
		maxSize    int64
		unlimitedQ bool
	}{
		{"free plain", submit("free", Options{Device: "cpu"}, 1<<20), true, ReasonOK, "", 10 << 20, false},
		{"free size unknown", submit("free", Options{}, -1), true, ReasonOK, "", 10 << 20, false},
		{"free gpu", submit("free", Options{Device: "gpu"}, 1), false, ReasonFeatureNotInTier, "gpu", 10 << 20, false},
		{"free webhook", submit("free", Options{Webhook: true}, 1), false, ReasonFeatureNotInTier, "webhook", 10 << 20, false},
		{"free too large", submit("free", Options{}, 10<<20+1), false, ReasonFileTooLarge, "", 10 << 20, false},
		{"api_key everything", submit("api_key", Options{Device: "gpu", Batch: true, Webhook: true, URLSource: true}, 100<<20), true, ReasonOK, "", 100 << 20, false},
		{"enterprise unlimited quota", Input{Tier: "enterprise", Method: "GET", Route: "/api/v1/jobs/{id}", Size: -1}, true, ReasonOK, "", 1 << 30, true},
		{"raw path is not a route", Input{Tier: "enterprise", Method: "GET", Route: "/api/v1/jobs/job_1", Size: -1}, false, ReasonRouteNotAllowed, "", 1 << 30, true},
		{"unknown tier", submit("gold", Options{}, 1), false, ReasonUnknownTier, "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Twice: the second answer comes from the cache and must agree.
			for range 2 {
				d, err := e.Decide(t.Context(), tt.in)
				if err != nil {
					t.Fatal(err)
				}
				if d.Allow != tt.allow || d.Reason != tt.reason || d.Feature != tt.feature {
					t.Fatalf("decision = %+v, want allow=%v reason=%s feature=%q", d, tt.allow, tt.reason, tt.feature)
				}
				if tt.maxSize == 0 {
					if d.Limits != nil {
						t.Fatalf("limits = %+v, want none", d.Limits)
					}
					continue
				}
				if d.Limits == nil || d.Limits.MaxFileSize != tt.maxSize || d.Limits.Quota.Unlimited() != tt.unlimitedQ {
					t.Fatalf("limits = %+v, want max %d unlimited quota %v", d.Limits, tt.maxSize, tt.unlimitedQ)
				}
			}
		})
	}
	if got := strings.Join(e.Tiers(), ","); got != "api_key,enterprise,free,oauth" {
		t.Fatalf("Tiers = %s", got)
	}
	if !e.HasTier("oauth") || e.HasTier("gold") {
		t.Fatal("HasTier disagrees with the data")
	}
}

func TestReloadSwapsDataAndRefusesBadData(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tiers.json")
	data := embeddedData(t)
	writeJSON(t, file, data)
	e, err := New(t.Context(), Config{DataFile: file})
	if err != nil {
		t.Fatal(err)
	}
	rate := func() int64 {
		d, err := e.Decide(t.Context(), Input{Tier: "free", Method: "GET", Route: "/api/v1/jobs", Size: -1})
		if err != nil {
			t.Fatal(err)
		}
		return d.Limits.Rate.Requests
	}
	if got := rate(); got != 10 {
		t.Fatalf("free rate = %d, want 10", got)
	}
	data["free"].(map[string]any)["rate"].(map[string]any)["requests"] = 3
	writeJSON(t, file, data)
	if err := e.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := rate(); got != 3 {
		t.Fatalf("free rate after reload = %d, want 3 (the cache must not outlive the data)", got)
	}

	bad := []struct {
		name string
		body string
		want string
	}{
		{"not json", "{", "not a JSON object"},
		{"no tiers", "{}", "no tiers"},
		{"unknown field", `{"free":{"rate":{"requests":1,"period_seconds":1},"quota":{"documents":null,"period":null},"max_file_size":1,"priority":0,"features":{},"colour":"red"}}`, "unknown field"},
		{"negative size", `{"free":{"rate":{"requests":1,"period_seconds":1},"quota":{"documents":null,"period":null},"max_file_size":-1,"priority":0,"features":{}}}`, "max_file_size"},
		{"bad period", `{"free":{"rate":{"requests":1,"period_seconds":1},"quota":{"documents":5,"period":"week"},"max_file_size":1,"priority":0,"features":{}}}`, "quota.period"},
		{"zero period", `{"free":{"rate":{"requests":1,"period_seconds":0},"quota":{"documents":null,"period":null},"max_file_size":1,"priority":0,"features":{}}}`, "period_seconds"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(file, []byte(tt.body), 0o600); err != nil {
				t.Fatal(err)
			}
			err := e.Reload(t.Context())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Reload = %v, want an error about %q", err, tt.want)
			}
			if got := rate(); got != 3 {
				t.Fatalf("free rate after a refused reload = %d, want 3 (the old data stays)", got)
			}
		})
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if err := e.Reload(t.Context()); err == nil {
		t.Fatal("Reload of a missing file succeeded")
	}
}

func TestNewRefusesBadFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tiers.json")
	if err := os.WriteFile(file, []byte(`{"free":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(t.Context(), Config{DataFile: file}); err == nil {
		t.Fatal("New accepted a tier without limits")
	}
}

// TestWatchAppliesEditsWithoutRestart is the operator's path: edit the
// file, and the next request sees the new numbers.
func TestWatchAppliesEditsWithoutRestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tiers.json")
	data := embeddedData(t)
	writeJSON(t, file, data)
	e, err := New(t.Context(), Config{DataFile: file})
	if err != nil {
		t.Fatal(err)
	}
	startWatch(t, e)
	data["free"].(map[string]any)["max_file_size"] = 1234
	untilFreeMax(t, e, 1234, func() { writeJSON(t, file, data) })
}

// untilFreeMax repeats change until the free tier's max_file_size reads
// want, and fails the test when 5 s pass first: the watcher may start
// after the first change, so one change may go unseen.
func untilFreeMax(t *testing.T, e *Engine, want int64, change func()) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		change()
		d, err := e.Decide(t.Context(), submit("free", Options{}, want+1))
		if err != nil {
			t.Fatal(err)
		}
		if d.Reason == ReasonFileTooLarge && d.Limits.MaxFileSize == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the change was not applied within 5s: %+v", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startWatch runs e.Watch until the test ends, failing the test when it
// returns an error.
func startWatch(t *testing.T, e *Engine) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.Watch(ctx, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

// TestWatchConcerns: the data file's own events reload it, and so do
// names created, renamed or removed beside it (a symlink swap); writes to
// other files in the folder do not.
func TestWatchConcerns(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tiers.json")
	tests := []struct {
		name string
		ev   fsnotify.Event
		want bool
	}{
		{"the file written", fsnotify.Event{Name: file, Op: fsnotify.Write}, true},
		{"the file renamed into place", fsnotify.Event{Name: file, Op: fsnotify.Create}, true},
		{"the file's mode changed", fsnotify.Event{Name: file, Op: fsnotify.Chmod}, true},
		{"the file removed", fsnotify.Event{Name: file, Op: fsnotify.Remove}, true},
		{"the file named unclean", fsnotify.Event{Name: dir + "/./tiers.json", Op: fsnotify.Write}, true},
		{"a log beside it written", fsnotify.Event{Name: filepath.Join(dir, "edge.log"), Op: fsnotify.Write}, false},
		{"a log beside it chmodded", fsnotify.Event{Name: filepath.Join(dir, "edge.log"), Op: fsnotify.Chmod}, false},
		{"a symlink swapped in", fsnotify.Event{Name: filepath.Join(dir, "..data"), Op: fsnotify.Create}, true},
		{"an editor's temporary renamed away", fsnotify.Event{Name: filepath.Join(dir, "tiers.json.tmp"), Op: fsnotify.Rename}, true},
		{"an old target removed", fsnotify.Event{Name: filepath.Join(dir, "..2026_12_02"), Op: fsnotify.Remove}, true},
	}
	for _, tt := range tests {
		if got := concerns(tt.ev, file); got != tt.want {
			t.Errorf("%s (%v): concerns = %v, want %v", tt.name, tt.ev, got, tt.want)
		}
	}
}

// TestWatchFollowsSymlinkSwap: a data file reached through a symlinked
// folder, as a Kubernetes ConfigMap mounts it, is reloaded when the link
// is swapped to a new folder, while a log written beside it keeps
// changing.
func TestWatchFollowsSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	data := embeddedData(t)
	v1 := filepath.Join(dir, "..v1")
	if err := os.Mkdir(v1, 0o700); err != nil {
		t.Fatal(err)
	}
	writeJSON(t, filepath.Join(v1, "tiers.json"), data)
	if err := os.Symlink("..v1", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "tiers.json")
	if err := os.Symlink(filepath.Join("..data", "tiers.json"), file); err != nil {
		t.Fatal(err)
	}
	e, err := New(t.Context(), Config{DataFile: file})
	if err != nil {
		t.Fatal(err)
	}
	startWatch(t, e)
	log, err := os.Create(filepath.Join(dir, "edge.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()

	data["free"].(map[string]any)["max_file_size"] = 4321
	v2 := filepath.Join(dir, "..v2")
	if err := os.Mkdir(v2, 0o700); err != nil {
		t.Fatal(err)
	}
	writeJSON(t, filepath.Join(v2, "tiers.json"), data)
	// Each turn writes the log and swaps the link again, as the kubelet
	// does on an update (a new link renamed over "..data").
	i := 0
	untilFreeMax(t, e, 4321, func() {
		i++
		fmt.Fprintf(log, "line %d\n", i)
		tmp := filepath.Join(dir, "..data_tmp")
		os.Remove(tmp)
		if err := os.Symlink("..v2", tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	})
}

// BenchmarkDecide compares a cached decision with a full evaluation, per
// request.
func BenchmarkDecide(b *testing.B) {
	e, err := New(context.Background(), Config{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	in := Input{Tier: "api_key", Tenant: "t", Method: "GET", Route: "/api/v1/me", Size: -1}
	b.Run("eval", func(b *testing.B) {
		p := e.cur.Load()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.eval(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.Decide(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
