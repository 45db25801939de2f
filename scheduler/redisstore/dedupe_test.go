package redisstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/docstrange/mesh/internal/redistest"
	"github.com/docstrange/mesh/scheduler"
	"github.com/redis/go-redis/v9"
)

// TestDedupeEntry checks the dedupe entry behind FindDedupe: written when
// the job succeeds, expiring at its ExpiresAt, and gone with the result, the
// record, or a lookup that finds it stale.
func TestDedupeEntry(t *testing.T) {
	srv := redistest.Start(t)
	cfg := testConfig(srv.Addr())
	s := open(t, cfg)
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = raw.Close() })

	succeed := func(t *testing.T, id string, expiresAt time.Time) {
		t.Helper()
		if _, err := s.Update(t.Context(), id, func(j *scheduler.Job) error {
			j.Status = scheduler.StatusSucceeded
			j.ExpiresAt = expiresAt
			return nil
		}); err != nil {
			t.Fatalf("Update: %v", err)
		}
	}
	tests := []struct {
		name string
		// gone does something that must drop the entry of the succeeded
		// job j, whose dedupe key in Redis is dkey.
		gone func(t *testing.T, j *scheduler.Job, dkey string)
	}{
		{"result expired", func(t *testing.T, j *scheduler.Job, _ string) {
			if _, err := s.Update(t.Context(), j.ID, func(j *scheduler.Job) error {
				j.ResultExpired = true
				j.ExpiresAt = time.Now().Add(time.Hour)
				return nil
			}); err != nil {
				t.Fatalf("Update: %v", err)
			}
		}},
		{"deleted", func(t *testing.T, j *scheduler.Job, _ string) {
			if err := s.Delete(t.Context(), j.ID); err != nil {
				t.Fatalf("Delete: %v", err)
			}
		}},
		{"stale entry found by a lookup", func(t *testing.T, j *scheduler.Job, dkey string) {
			other := newJob(j.Tenant)
			if _, err := s.Create(t.Context(), other); err != nil {
				t.Fatalf("Create: %v", err)
			}
			// An entry pointing at a job that never succeeded, as a
			// crash or a bug might leave behind.
			if err := raw.Set(t.Context(), dkey, other.ID, 0).Err(); err != nil {
				t.Fatalf("SET: %v", err)
			}
			if _, err := s.FindDedupe(t.Context(), j.DedupeKey); !errors.Is(err, scheduler.ErrNotFound) {
				t.Fatalf("FindDedupe of a stale entry = %v; want ErrNotFound", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newJob("acme")
			j.DedupeKey = "k-" + j.ID
			if _, err := s.Create(t.Context(), j); err != nil {
				t.Fatalf("Create: %v", err)
			}
			dkey := cfg.Prefix + "dedupe:" + j.DedupeKey
			if n, err := raw.Exists(t.Context(), dkey).Result(); err != nil || n != 0 {
				t.Fatalf("EXISTS %s before success = %d, %v; want 0", dkey, n, err)
			}
			succeed(t, j.ID, time.Now().Add(time.Hour))
			if id, err := raw.Get(t.Context(), dkey).Result(); err != nil || id != j.ID {
				t.Fatalf("GET %s = %q, %v; want %s", dkey, id, err, j.ID)
			}
			if ttl, err := raw.PTTL(t.Context(), dkey).Result(); err != nil || ttl < 59*time.Minute || ttl > time.Hour {
				t.Fatalf("PTTL %s = %s, %v; want about 1h, the job's ExpiresAt", dkey, ttl, err)
			}
			tt.gone(t, j, dkey)
			if n, err := raw.Exists(t.Context(), dkey).Result(); err != nil || n != 0 {
				t.Fatalf("EXISTS %s after %s = %d, %v; want 0", dkey, tt.name, n, err)
			}
		})
	}
}
