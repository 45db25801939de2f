package plugins_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/docstrange/mesh/plugins"
)

// recorder is a slog.Handler keeping records for inspection.
type recorder struct {
	attrs   []slog.Attr
	records *[]slog.Record
	level   slog.Level
}

func (r *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= r.level }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	rec = rec.Clone()
	rec.AddAttrs(r.attrs...)
	*r.records = append(*r.records, rec)
	return nil
}
func (r *recorder) WithAttrs(as []slog.Attr) slog.Handler {
	c := *r
	c.attrs = append(append([]slog.Attr(nil), r.attrs...), as...)
	return &c
}
func (r *recorder) WithGroup(string) slog.Handler { return r }

func attrsOf(rec slog.Record) map[string]string {
	m := map[string]string{}
	rec.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	return m
}

func TestHCLoggerBridgesToSlog(t *testing.T) {
	var recs []slog.Record
	l := plugins.NewHCLogger(t.Context(), slog.New(&recorder{records: &recs, level: slog.LevelDebug}))
	named := l.Named("backend").Named("ocr").With("pid", 42)
	named.Trace("dropped: below the handler's level")
	named.Debug("hello", "k", "v")
	named.Error("boom")
	if !named.IsDebug() || named.IsTrace() || named.GetLevel() != hclog.Debug {
		t.Errorf("levels: IsDebug=%v IsTrace=%v GetLevel=%v", named.IsDebug(), named.IsTrace(), named.GetLevel())
	}
	if named.Name() != "backend.ocr" {
		t.Errorf("Name = %q", named.Name())
	}
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2", len(recs))
	}
	if recs[0].Level != slog.LevelDebug || recs[0].Message != "hello" || recs[1].Level != slog.LevelError {
		t.Errorf("records = %v", recs)
	}
	a := attrsOf(recs[0])
	if a[plugins.LogKeyLogger] != "backend.ocr" || a["pid"] != "42" || a["k"] != "v" {
		t.Errorf("attrs = %v", a)
	}
}

func TestPluginLoggerWritesHCLogJSON(t *testing.T) {
	var buf bytes.Buffer
	plugins.NewPluginLogger(&buf, slog.LevelDebug).Warn("careful", "item", "p1")
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if m["@level"] != "warn" || m["@message"] != "careful" || m["item"] != "p1" {
		t.Errorf("line = %v", m)
	}
	ts, _ := m["@timestamp"].(string)
	if _, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", ts); err != nil {
		t.Errorf("@timestamp %q: %v", ts, err)
	}
}
