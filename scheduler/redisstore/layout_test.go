package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/docstrange/mesh/internal/redistest"
	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/storetest"
	"github.com/redis/go-redis/v9"
)

func newJob(tenant string) *scheduler.Job {
	return &scheduler.Job{ID: storetest.NewID(), Tenant: tenant, Status: scheduler.StatusQueued, CreatedAt: time.Now().UTC()}
}

// TestRecordTTL checks that a record with ExpiresAt carries EXPIREAT
// ExpiresAt + RecordGrace, and loses it again when ExpiresAt is cleared.
func TestRecordTTL(t *testing.T) {
	srv := redistest.Start(t)
	cfg := testConfig(srv.Addr())
	cfg.RecordGrace = caddy.Duration(time.Hour)
	s := open(t, cfg)
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = raw.Close() })

	j := newJob("acme")
	j.IdempotencyKey = "k"
	if _, err := s.Create(t.Context(), j); err != nil {
		t.Fatalf("Create: %v", err)
	}
	key := cfg.Prefix + "job:" + j.ID
	idem := cfg.Prefix + "idem:4:acme:k"
	tests := []struct {
		name      string
		expiresAt time.Time
		want      time.Duration // -1: no TTL
	}{
		{"finished job gets ExpiresAt + grace", time.Now().Add(24 * time.Hour), 25 * time.Hour},
		{"cleared ExpiresAt removes the TTL", time.Time{}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Update(t.Context(), j.ID, func(j *scheduler.Job) error {
				j.ExpiresAt = tt.expiresAt
				return nil
			}); err != nil {
				t.Fatalf("Update: %v", err)
			}
			for _, k := range []string{key, idem} {
				ttl, err := raw.TTL(t.Context(), k).Result()
				if err != nil {
					t.Fatalf("TTL %s: %v", k, err)
				}
				if tt.want < 0 && ttl >= 0 || tt.want >= 0 && (ttl < tt.want-time.Minute || ttl > tt.want) {
					t.Fatalf("TTL of %s = %s; want %s", k, ttl, tt.want)
				}
			}
		})
	}
}

// TestVanishedRecords covers records Redis dropped on its own (their TTL
// passed before cleanup deleted them): List skips them and Claim throws
// away their queue entries.
func TestVanishedRecords(t *testing.T) {
	srv := redistest.Start(t)
	cfg := testConfig(srv.Addr())
	cfg.RecordGrace = caddy.Duration(time.Millisecond)
	s := open(t, cfg)

	gone := newJob("acme")
	gone.ExpiresAt = time.Now().Add(-time.Hour) // past grace: dropped at once
	kept := newJob("acme")
	for _, j := range []*scheduler.Job{gone, kept} {
		if _, err := s.Create(t.Context(), j); err != nil {
			t.Fatalf("Create: %v", err)
		}
	}
	if _, err := s.Get(t.Context(), gone.ID); !errors.Is(err, scheduler.ErrNotFound) {
		t.Fatalf("Get of a dropped record = %v; want ErrNotFound", err)
	}
	page, err := s.List(t.Context(), "acme", "", 1)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(page.Jobs) != 1 || page.Jobs[0].ID != kept.ID || page.NextCursor != "" {
		t.Fatalf("List = %d jobs, cursor %q; want only %s and no cursor", len(page.Jobs), page.NextCursor, kept.ID)
	}
	l := claimOne(t, s, "c1", time.Minute)
	if l.JobID != kept.ID {
		t.Fatalf("claimed %s; want %s (the dropped job's entry skipped)", l.JobID, kept.ID)
	}
	if st, err := s.Stats(t.Context()); err != nil || st.Depth != 0 || st.Leased != 1 {
		t.Fatalf("Stats = %+v, %v; want depth 0, leased 1", st, err)
	}
}

// TestPrefixesAreIsolated runs two stacks on one Redis.
func TestPrefixesAreIsolated(t *testing.T) {
	srv := redistest.Start(t)
	a, b := open(t, testConfig(srv.Addr())), open(t, testConfig(srv.Addr()))
	j := newJob("acme")
	if _, err := a.Create(t.Context(), j); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := b.Get(t.Context(), j.ID); !errors.Is(err, scheduler.ErrNotFound) {
		t.Fatalf("other stack's Get = %v; want ErrNotFound", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if l, err := b.Claim(ctx, "c1", time.Minute); err == nil {
		t.Fatalf("other stack claimed %s", l.JobID)
	}
	if l := claimOne(t, a, "c1", time.Minute); l.JobID != j.ID {
		t.Fatalf("claimed %s; want %s", l.JobID, j.ID)
	}
}
