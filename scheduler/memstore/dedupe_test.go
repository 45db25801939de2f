package memstore

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/storetest"
)

// TestDedupeIndex checks the map behind FindDedupe: it holds the succeeded
// jobs of a key, loses them with their result or record, and is rebuilt
// from the file on open.
func TestDedupeIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	s, err := Open(t.Context(), Config{Path: path})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	update := func(t *testing.T, id string, fn func(*scheduler.Job)) {
		t.Helper()
		if _, err := s.Update(t.Context(), id, func(j *scheduler.Job) error { fn(j); return nil }); err != nil {
			t.Fatalf("Update: %v", err)
		}
	}
	indexed := func(t *testing.T, s *Store, want ...string) {
		t.Helper()
		s.mu.Lock()
		got := slices.Clone(s.dedupe["k"])
		n := len(s.dedupe)
		s.mu.Unlock()
		if !slices.Equal(got, want) || (len(want) == 0 && n != 0) {
			t.Fatalf("index = %v (%d keys); want %v", got, n, want)
		}
	}
	var ids []string
	for range 4 {
		j := &scheduler.Job{ID: storetest.NewID(), Tenant: "t", DedupeKey: "k", CreatedAt: time.Now().UTC()}
		if _, err := s.Create(t.Context(), j); err != nil {
			t.Fatalf("Create: %v", err)
		}
		ids = append(ids, j.ID)
	}
	indexed(t, s)
	succeed := func(j *scheduler.Job) { j.Status, j.ExpiresAt = scheduler.StatusSucceeded, time.Now().Add(time.Hour) }
	for _, id := range ids[:3] {
		update(t, id, succeed)
	}
	update(t, ids[3], func(j *scheduler.Job) { j.Status = scheduler.StatusFailed })
	indexed(t, s, ids[0], ids[1], ids[2])

	update(t, ids[0], func(j *scheduler.Job) { j.ResultExpired = true })
	if err := s.Delete(t.Context(), ids[1]); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	indexed(t, s, ids[2])

	s.Close()
	s, err = Open(t.Context(), Config{Path: path})
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	indexed(t, s, ids[2])
	if err := s.Delete(t.Context(), ids[2]); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	indexed(t, s)
}
