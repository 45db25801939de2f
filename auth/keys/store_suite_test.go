package keys_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/docstrange/mesh/auth/keys"
	"github.com/rs/xid"
)

// storeHarness opens stores of one implementation for runStoreSuite.
type storeHarness struct {
	// open returns a new, empty store, closed in t.Cleanup.
	open func(t *testing.T) keys.Store
	// reopen closes s and opens it again over the same data, as a restart
	// would.
	reopen func(t *testing.T, s keys.Store) keys.Store
}

// runStoreSuite checks the Store contract; every implementation runs it.
func runStoreSuite(t *testing.T, h storeHarness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h storeHarness)
	}{
		{"create then get", testCreateGet},
		{"create existing id", testCreateExists},
		{"unknown id", testUnknown},
		{"revoke keeps first time", testRevoke},
		{"list oldest first", testListOrder},
		{"concurrent creates", testConcurrentCreates},
		{"records survive reopen", testReopen},
		{"results do not alias", testNoAlias},
		{"closed", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, h) })
	}
}

// newRecord returns a valid record created at the given time.
func newRecord(at time.Time) keys.Key {
	h := make([]byte, 32)
	_, _ = rand.Read(h)
	return keys.Key{
		ID:        keys.IDPrefix + xid.New().String(),
		Tenant:    "acme",
		Tier:      "api_key",
		Name:      "ci",
		CreatedAt: at.UTC(),
		Hash:      h,
	}
}

func mustCreate(t *testing.T, s keys.Store, k keys.Key) {
	t.Helper()
	if err := s.Create(t.Context(), k); err != nil {
		t.Fatalf("Create(%s): %v", k.ID, err)
	}
}

func mustGet(t *testing.T, s keys.Store, id string) keys.Key {
	t.Helper()
	k, err := s.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return k
}

// sameKey fails unless got and want hold the same record.
func sameKey(t *testing.T, got, want keys.Key) {
	t.Helper()
	if got.ID != want.ID || got.Tenant != want.Tenant || got.Tier != want.Tier || got.Name != want.Name ||
		!got.CreatedAt.Equal(want.CreatedAt) || !bytes.Equal(got.Hash, want.Hash) ||
		(got.RevokedAt == nil) != (want.RevokedAt == nil) ||
		(got.RevokedAt != nil && !got.RevokedAt.Equal(*want.RevokedAt)) {
		t.Fatalf("record = %s; want %s", describe(got), describe(want))
	}
}

func describe(k keys.Key) string {
	rev := "<nil>"
	if k.RevokedAt != nil {
		rev = k.RevokedAt.Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("{%s %s %s %q created=%s revoked=%s hash=%x}",
		k.ID, k.Tenant, k.Tier, k.Name, k.CreatedAt.Format(time.RFC3339Nano), rev, k.Hash)
}

func testCreateGet(t *testing.T, h storeHarness) {
	s := h.open(t)
	want := newRecord(time.Now().Add(-time.Hour))
	want.CreatedAt = time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.UTC)
	mustCreate(t, s, want)
	sameKey(t, mustGet(t, s, want.ID), want)

	noName := newRecord(time.Now())
	noName.Name = ""
	mustCreate(t, s, noName)
	sameKey(t, mustGet(t, s, noName.ID), noName)
}

func testCreateExists(t *testing.T, h storeHarness) {
	s := h.open(t)
	first := newRecord(time.Now())
	mustCreate(t, s, first)
	second := newRecord(time.Now())
	second.ID = first.ID
	second.Tenant = "other"
	if err := s.Create(t.Context(), second); !errors.Is(err, keys.ErrExists) {
		t.Fatalf("Create of a taken id = %v; want ErrExists", err)
	}
	sameKey(t, mustGet(t, s, first.ID), first)
}

func testUnknown(t *testing.T, h storeHarness) {
	s := h.open(t)
	id := keys.IDPrefix + xid.New().String()
	if _, err := s.Get(t.Context(), id); !errors.Is(err, keys.ErrNotFound) {
		t.Fatalf("Get of an unknown id = %v; want ErrNotFound", err)
	}
	if _, err := s.Revoke(t.Context(), id, time.Now()); !errors.Is(err, keys.ErrNotFound) {
		t.Fatalf("Revoke of an unknown id = %v; want ErrNotFound", err)
	}
	if _, err := s.Get(t.Context(), id); !errors.Is(err, keys.ErrNotFound) {
		t.Fatalf("Revoke of an unknown id created it: Get = %v", err)
	}
}

func testRevoke(t *testing.T, h storeHarness) {
	s := h.open(t)
	k := newRecord(time.Now())
	mustCreate(t, s, k)
	first := time.Date(2025, 6, 1, 12, 0, 0, 42, time.UTC)
	got, err := s.Revoke(t.Context(), k.ID, first)
	if err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	want := k
	want.RevokedAt = &first
	sameKey(t, got, want)

	again, err := s.Revoke(t.Context(), k.ID, first.Add(time.Hour))
	if err != nil {
		t.Fatalf("second Revoke: %v", err)
	}
	sameKey(t, again, want)
	sameKey(t, mustGet(t, s, k.ID), want)
}

func testListOrder(t *testing.T, h storeHarness) {
	s := h.open(t)
	if ks, err := s.List(t.Context()); err != nil || len(ks) != 0 {
		t.Fatalf("List of an empty store = %d keys, %v", len(ks), err)
	}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	late, early, mid := newRecord(t0.Add(2*time.Second)), newRecord(t0), newRecord(t0.Add(time.Second))
	// Two records a nanosecond apart, which a float64 score cannot tell
	// apart, and two created at the same instant, ordered by id.
	nano := newRecord(t0.Add(time.Second + time.Nanosecond))
	tieA, tieB := newRecord(t0.Add(3*time.Second)), newRecord(t0.Add(3*time.Second))
	if tieA.ID > tieB.ID {
		tieA, tieB = tieB, tieA
	}
	for _, k := range []keys.Key{nano, late, tieB, early, tieA, mid} {
		mustCreate(t, s, k)
	}
	if _, err := s.Revoke(t.Context(), mid.ID, time.Now()); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	ks, err := s.List(t.Context())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	want := []string{early.ID, mid.ID, nano.ID, late.ID, tieA.ID, tieB.ID}
	if len(ks) != len(want) {
		t.Fatalf("List = %d keys; want %d", len(ks), len(want))
	}
	for i, k := range ks {
		if k.ID != want[i] {
			t.Fatalf("List[%d] = %s; want %s (order %v)", i, k.ID, want[i], want)
		}
	}
	if ks[1].RevokedAt == nil {
		t.Fatal("List lost the revocation")
	}
	sameKey(t, ks[0], early)
}

func testConcurrentCreates(t *testing.T, h storeHarness) {
	s := h.open(t)
	const distinct, contenders = 24, 16
	shared := newRecord(time.Now())
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		wins   int
		others []error
	)
	for i := range distinct + contenders {
		wg.Go(func() {
			k := shared
			if i < distinct {
				k = newRecord(time.Now())
			}
			err := s.Create(t.Context(), k)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && k.ID == shared.ID:
				wins++
			case err != nil && !(k.ID == shared.ID && errors.Is(err, keys.ErrExists)):
				others = append(others, err)
			}
		})
	}
	wg.Wait()
	if len(others) != 0 || wins != 1 {
		t.Fatalf("concurrent Create: %d wins on the shared id (want 1), unexpected errors %v", wins, others)
	}
	ks, err := s.List(t.Context())
	if err != nil || len(ks) != distinct+1 {
		t.Fatalf("List after concurrent Create = %d keys, %v; want %d", len(ks), err, distinct+1)
	}
}

func testReopen(t *testing.T, h storeHarness) {
	s := h.open(t)
	kept, revoked := newRecord(time.Now()), newRecord(time.Now().Add(time.Millisecond))
	mustCreate(t, s, kept)
	mustCreate(t, s, revoked)
	at := time.Now().UTC()
	if _, err := s.Revoke(t.Context(), revoked.ID, at); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	revoked.RevokedAt = &at

	s = h.reopen(t, s)
	sameKey(t, mustGet(t, s, kept.ID), kept)
	sameKey(t, mustGet(t, s, revoked.ID), revoked)
	ks, err := s.List(t.Context())
	if err != nil || len(ks) != 2 {
		t.Fatalf("List after reopen = %d keys, %v; want 2", len(ks), err)
	}
	if err := s.Create(t.Context(), kept); !errors.Is(err, keys.ErrExists) {
		t.Fatalf("Create after reopen of a stored id = %v; want ErrExists", err)
	}
}

func testNoAlias(t *testing.T, h storeHarness) {
	s := h.open(t)
	k := newRecord(time.Now())
	mustCreate(t, s, k)
	want := k
	want.Hash = bytes.Clone(k.Hash)
	k.Hash[0] ^= 0xff // the caller's slice after Create
	got := mustGet(t, s, k.ID)
	got.Hash[1] ^= 0xff // a returned slice
	ks, _ := s.List(t.Context())
	ks[0].Hash[2] ^= 0xff
	sameKey(t, mustGet(t, s, k.ID), want)
}

func testClosed(t *testing.T, h storeHarness) {
	s := h.open(t)
	k := newRecord(time.Now())
	mustCreate(t, s, k)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := t.Context()
	checks := []struct {
		name string
		err  error
	}{
		{"Create", s.Create(ctx, newRecord(time.Now()))},
		{"Get", func() error { _, err := s.Get(ctx, k.ID); return err }()},
		{"List", func() error { _, err := s.List(ctx); return err }()},
		{"Revoke", func() error { _, err := s.Revoke(ctx, k.ID, time.Now()); return err }()},
	}
	for _, c := range checks {
		if !errors.Is(c.err, keys.ErrClosed) {
			t.Errorf("%s after Close = %v; want ErrClosed", c.name, c.err)
		}
	}
}
