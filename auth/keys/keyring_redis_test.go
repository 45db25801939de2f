package keys_test

import (
	"errors"
	"testing"
	"time"

	"github.com/docstrange/mesh/auth/keys"
	"github.com/docstrange/mesh/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// TestRevokeAcrossEdges revokes on one edge and watches another edge, with
// its own Redis client and a warm cache, refuse the key within a second.
func TestRevokeAcrossEdges(t *testing.T) {
	srv := redistest.Start(t)
	prefix := newPrefix()
	edgeA := newKeyring(t, keys.NewRedis(newClient(t, srv.Addr()), prefix), keys.Config{})
	edgeB := newKeyring(t, keys.NewRedis(newClient(t, srv.Addr()), prefix), keys.Config{})
	rec, full := mustIssue(t, edgeA)
	if _, err := edgeB.Verify(t.Context(), full); err != nil {
		t.Fatalf("Verify on edge B: %v", err)
	}
	// Keep B's cache warm so a hit, not a miss, is what must expire.
	if _, err := edgeB.Verify(t.Context(), full); err != nil {
		t.Fatalf("second Verify on edge B: %v", err)
	}

	start := time.Now()
	if _, err := edgeA.Revoke(t.Context(), rec.ID); err != nil {
		t.Fatalf("Revoke on edge A: %v", err)
	}
	const bound = time.Second
	deadline := start.Add(2 * bound)
	for {
		_, err := edgeB.Verify(t.Context(), full)
		if errors.Is(err, keys.ErrRevoked) {
			break
		}
		if err != nil {
			t.Fatalf("Verify on edge B = %v; want success then ErrRevoked", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("edge B still accepts the key %s after the revocation", time.Since(start))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if took := time.Since(start); took > bound {
		t.Fatalf("edge B refused the key after %s; the bound is %s", took, bound)
	}
}

func TestVerifyStoreDown(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	kr := newKeyring(t, keys.NewRedis(rdb, newPrefix()), keys.Config{})
	_, full := mustIssue(t, kr)
	srv.Kill()
	_, err := kr.Verify(t.Context(), full)
	if err == nil || errors.Is(err, keys.ErrInvalid) || errors.Is(err, keys.ErrRevoked) {
		t.Fatalf("Verify with Redis down = %v; want a store error that is not ErrInvalid", err)
	}
}
