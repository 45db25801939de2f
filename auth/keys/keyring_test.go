package keys_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docstrange/mesh/auth/keys"
)

var testPepper = bytes.Repeat([]byte("pepper-"), 5)

// newKeyring returns a Keyring over s with testPepper unless cfg has one.
func newKeyring(t testing.TB, s keys.Store, cfg keys.Config) *keys.Keyring {
	t.Helper()
	if cfg.Pepper == nil {
		cfg.Pepper = testPepper
	}
	kr, err := keys.NewKeyring(s, cfg)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return kr
}

// fileKeyring returns a Keyring over a fresh FileStore.
func fileKeyring(t *testing.T, cfg keys.Config) (*keys.Keyring, keys.Store) {
	t.Helper()
	s := openFile(t, filepath.Join(t.TempDir(), "keys.json"))
	return newKeyring(t, s, cfg), s
}

func mustIssue(t *testing.T, kr *keys.Keyring) (keys.Key, string) {
	t.Helper()
	rec, full, err := kr.Issue(t.Context(), "acme", "api_key", "ci")
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return rec, full
}

// flipAt changes the character at i to another letter of both key
// alphabets.
func flipAt(s string, i int) string {
	c := byte('a')
	if s[i] == 'a' {
		c = 'b'
	}
	return s[:i] + string(c) + s[i+1:]
}

// wrongSecret returns the key with one secret character changed.
func wrongSecret(full string) string { return flipAt(full, 40) }

var keyPattern = regexp.MustCompile(`^dsk_([0-9a-v]{20})_[a-z2-7]{52}$`)

func TestIssueVerify(t *testing.T) {
	kr, s := fileKeyring(t, keys.Config{})
	rec, full := mustIssue(t, kr)

	m := keyPattern.FindStringSubmatch(full)
	if m == nil || rec.ID != keys.IDPrefix+m[1] || !keys.ValidID(rec.ID) {
		t.Fatalf("Issue returned key %q for id %q; want dsk_<xid>_<52 base32> carrying the id", full, rec.ID)
	}
	if rec.Tenant != "acme" || rec.Tier != "api_key" || rec.Name != "ci" || rec.RevokedAt != nil ||
		len(rec.Hash) != 32 || rec.CreatedAt.Location() != time.UTC {
		t.Fatalf("Issue record = %s", describe(rec))
	}
	sameKey(t, mustGet(t, s, rec.ID), rec)

	got, err := kr.Verify(t.Context(), full)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := rec
	want.Hash = nil
	sameKey(t, got, want)

	// Verify reads the store: a second keyring over it accepts the key.
	if _, err := newKeyring(t, s, keys.Config{}).Verify(t.Context(), full); err != nil {
		t.Fatalf("Verify on a second keyring: %v", err)
	}
	_, other := mustIssue(t, kr)
	if other == full {
		t.Fatal("two Issue calls returned the same key")
	}
}

func TestVerifyRejects(t *testing.T) {
	kr, _ := fileKeyring(t, keys.Config{})
	rec, full := mustIssue(t, kr)
	_, other := mustIssue(t, kr)
	xidPart, secret := full[4:24], full[25:]

	// Base32 of 32 bytes ends in a character with 4 unused low bits; a
	// non-zero one decodes to the same bytes in a lax decoder.
	last := secret[len(secret)-1]
	lax := map[byte]byte{'a': 'b', 'q': 'r'}[last]

	tests := []struct {
		name      string
		presented string
	}{
		{"empty", ""},
		{"prefix only", "dsk_"},
		{"wrong secret", full[:25] + flipAt(secret, 10)},
		{"other key's secret", full[:25] + other[25:]},
		{"tampered id", "dsk_" + flipAt(xidPart, 19) + full[24:]},
		{"other key's id", other[:25] + secret},
		{"non-canonical last character", full[:len(full)-1] + string(lax)},
		{"upper case", strings.ToUpper(full)},
		{"wrong prefix", "dsx_" + full[4:]},
		{"missing separator", full[:24] + "-" + full[25:]},
		{"truncated", full[:len(full)-1]},
		{"extra character", full + "a"},
		{"id instead of key", rec.ID},
		{"padding", full + "===="},
		{"non-alphabet secret", full[:25] + "1" + full[26:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := kr.Verify(t.Context(), tt.presented); !errors.Is(err, keys.ErrInvalid) {
				t.Fatalf("Verify(%s) = %v; want ErrInvalid", tt.name, err)
			}
		})
	}
	if _, err := kr.Verify(t.Context(), full); err != nil {
		t.Fatalf("the genuine key stopped working: %v", err)
	}
}

func TestVerifyWrongPepper(t *testing.T) {
	kr, s := fileKeyring(t, keys.Config{})
	_, full := mustIssue(t, kr)
	other := newKeyring(t, s, keys.Config{Pepper: bytes.Repeat([]byte("x"), 32)})
	if _, err := other.Verify(t.Context(), full); !errors.Is(err, keys.ErrInvalid) {
		t.Fatalf("Verify with another pepper = %v; want ErrInvalid", err)
	}
}

func TestRevoke(t *testing.T) {
	now := time.Date(2025, 5, 5, 0, 0, 0, 0, time.UTC)
	kr, _ := fileKeyring(t, keys.Config{Now: func() time.Time { return now }})
	rec, full := mustIssue(t, kr)
	if _, err := kr.Verify(t.Context(), full); err != nil { // cached now
		t.Fatalf("Verify: %v", err)
	}
	got, err := kr.Revoke(t.Context(), rec.ID)
	if err != nil || got.RevokedAt == nil || !got.RevokedAt.Equal(now) {
		t.Fatalf("Revoke = %s, %v; want revoked at %s", describe(got), err, now)
	}
	// The clock has not moved, so only the dropped cache entry can make
	// this see the revocation.
	if _, err := kr.Verify(t.Context(), full); !errors.Is(err, keys.ErrRevoked) {
		t.Fatalf("Verify after Revoke = %v; want ErrRevoked", err)
	}
	// Revoked is said only to a holder of the secret.
	if _, err := kr.Verify(t.Context(), wrongSecret(full)); !errors.Is(err, keys.ErrInvalid) {
		t.Fatalf("Verify of a revoked id with a wrong secret = %v; want ErrInvalid", err)
	}
	if _, err := kr.Revoke(t.Context(), "key_unknown"); !errors.Is(err, keys.ErrNotFound) {
		t.Fatalf("Revoke of an unknown id = %v; want ErrNotFound", err)
	}
	if g, err := kr.Get(t.Context(), rec.ID); err != nil || g.RevokedAt == nil {
		t.Fatalf("Get after Revoke = %s, %v", describe(g), err)
	}
	if ks, err := kr.List(t.Context()); err != nil || len(ks) != 1 || ks[0].RevokedAt == nil {
		t.Fatalf("List after Revoke = %v, %v", ks, err)
	}
}

// countingStore counts Gets on a real store, to observe the cache; with
// gate set, each Get waits for a value on it first.
type countingStore struct {
	keys.Store
	gets atomic.Int64
	gate chan struct{}
}

func (c *countingStore) Get(ctx context.Context, id string) (keys.Key, error) {
	c.gets.Add(1)
	if c.gate != nil {
		<-c.gate
	}
	return c.Store.Get(ctx, id)
}

// waitGets waits for the store to have been read want times, reads made in
// the background included, and fails if it was read more.
func waitGets(t *testing.T, cs *countingStore, want int64, step string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for cs.gets.Load() < want && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	// A read in flight that should not be would show up by now.
	time.Sleep(5 * time.Millisecond)
	if g := cs.gets.Load(); g != want {
		t.Fatalf("%s: %d store reads; want %d", step, g, want)
	}
}

func TestVerifyCache(t *testing.T) {
	var (
		mu  sync.Mutex
		now = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	cs := &countingStore{Store: openFile(t, filepath.Join(t.TempDir(), "keys.json"))}
	kr := newKeyring(t, cs, keys.Config{CacheTTL: 300 * time.Millisecond, Now: clock})
	_, full := mustIssue(t, kr)
	_, unknown := mustIssue(t, newKeyring(t, openFile(t, filepath.Join(t.TempDir(), "keys.json")), keys.Config{}))

	steps := []struct {
		name      string
		advance   time.Duration
		presented string
		wantErr   error
		wantGets  int64
	}{
		{"first verify reads the store", 0, full, nil, 1},
		{"hit within the ttl", 200 * time.Millisecond, full, nil, 1},
		{"wrong secret on a hit still fails", 0, wrongSecret(full), keys.ErrInvalid, 1},
		// With less than a quarter of the ttl left, the record is read
		// again in the background, cached from that read's start.
		{"hit near expiry reads ahead", 50 * time.Millisecond, full, nil, 2},
		{"the record read ahead answers past the first expiry", 100 * time.Millisecond, full, nil, 2},
		{"expired at the ttl", 200 * time.Millisecond, full, nil, 3},
		{"unknown key reads the store", 0, unknown, keys.ErrInvalid, 4},
		{"unknown key is not cached", 0, unknown, keys.ErrInvalid, 5},
		{"malformed key never reads the store", 0, "dsk_nope", keys.ErrInvalid, 5},
	}
	for _, st := range steps {
		advance(st.advance)
		_, err := kr.Verify(t.Context(), st.presented)
		if !errors.Is(err, st.wantErr) || (st.wantErr == nil && err != nil) {
			t.Fatalf("%s: Verify = %v; want %v", st.name, err, st.wantErr)
		}
		waitGets(t, cs, st.wantGets, st.name)
	}
}

// TestVerifyMissesShareARead: requests that miss the cache together wait
// for one store read instead of each sending their own.
func TestVerifyMissesShareARead(t *testing.T) {
	cs := &countingStore{Store: openFile(t, filepath.Join(t.TempDir(), "keys.json"))}
	kr := newKeyring(t, cs, keys.Config{})
	_, full := mustIssue(t, kr)
	cs.gate = make(chan struct{})
	var wg sync.WaitGroup
	var bad atomic.Int64
	for range 20 {
		wg.Go(func() {
			if _, err := kr.Verify(t.Context(), full); err != nil {
				bad.Add(1)
			}
		})
	}
	waitGets(t, cs, 1, "20 verifies of an uncached key")
	close(cs.gate)
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d verifies failed", bad.Load())
	}
	if g := cs.gets.Load(); g != 1 {
		t.Fatalf("%d store reads for 20 verifies at once; want 1", g)
	}
}

func TestVerifyConcurrent(t *testing.T) {
	kr, _ := fileKeyring(t, keys.Config{CacheTTL: time.Millisecond})
	rec, full := mustIssue(t, kr)
	var wg sync.WaitGroup
	var bad atomic.Int64
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if _, err := kr.Verify(t.Context(), full); err != nil && !errors.Is(err, keys.ErrRevoked) {
					bad.Add(1)
				}
			}
		})
	}
	wg.Go(func() {
		time.Sleep(time.Millisecond)
		if _, err := kr.Revoke(t.Context(), rec.ID); err != nil {
			bad.Add(1)
		}
	})
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d unexpected errors", bad.Load())
	}
	if _, err := kr.Verify(t.Context(), full); !errors.Is(err, keys.ErrRevoked) {
		t.Fatalf("Verify after the race = %v; want ErrRevoked", err)
	}
}

func TestNewKeyringConfig(t *testing.T) {
	s := openFile(t, filepath.Join(t.TempDir(), "keys.json"))
	tests := []struct {
		name    string
		store   keys.Store
		cfg     keys.Config
		wantErr bool
	}{
		{"defaults", s, keys.Config{Pepper: make([]byte, 32)}, false},
		{"longest ttl", s, keys.Config{Pepper: make([]byte, 32), CacheTTL: time.Second - 1}, false},
		{"no pepper", s, keys.Config{}, true},
		{"short pepper", s, keys.Config{Pepper: make([]byte, 31)}, true},
		{"ttl of a second", s, keys.Config{Pepper: make([]byte, 32), CacheTTL: time.Second}, true},
		{"negative ttl", s, keys.Config{Pepper: make([]byte, 32), CacheTTL: -time.Millisecond}, true},
		{"no store", nil, keys.Config{Pepper: make([]byte, 32)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr, err := keys.NewKeyring(tt.store, tt.cfg)
			if (err != nil) != tt.wantErr || (err == nil) != (kr != nil) {
				t.Fatalf("NewKeyring = %v, %v; want error %t", kr, err, tt.wantErr)
			}
		})
	}
	// The keyring keeps its own copy of the pepper.
	pepper := bytes.Repeat([]byte("k"), 32)
	kr := newKeyring(t, s, keys.Config{Pepper: pepper})
	_, full := mustIssue(t, kr)
	pepper[0] = 'x'
	if _, err := kr.Verify(t.Context(), full); err != nil {
		t.Fatalf("changing the caller's pepper slice broke Verify: %v", err)
	}
}

func TestIssueValidation(t *testing.T) {
	kr, s := fileKeyring(t, keys.Config{})
	tests := []struct {
		name, tenant, tier, keyName string
		wantField                   string // "" means valid
	}{
		{"valid", "acme", "api_key", "ci", ""},
		{"tenant punctuation", "a.b_c:d@e-F9", "free", "", ""},
		{"longest tenant", strings.Repeat("t", 128), "free", "", ""},
		{"longest tier", "acme", strings.Repeat("t", 64), "", ""},
		{"longest name in runes", "acme", "free", strings.Repeat("é", 128), ""},
		{"name with spaces", "acme", "free", "CI key (prod)", ""},
		{"no tenant", "", "free", "", "tenant"},
		{"long tenant", strings.Repeat("t", 129), "free", "", "tenant"},
		{"tenant with space", "ac me", "free", "", "tenant"},
		{"tenant with slash", "ac/me", "free", "", "tenant"},
		{"no tier", "acme", "", "", "tier"},
		{"upper-case tier", "acme", "Free", "", "tier"},
		{"tier with dash", "acme", "api-key", "", "tier"},
		{"long tier", "acme", strings.Repeat("t", 65), "", "tier"},
		{"long name", "acme", "free", strings.Repeat("n", 129), "name"},
		{"name with newline", "acme", "free", "a\nb", "name"},
		{"name with nul", "acme", "free", "a\x00b", "name"},
		{"name not utf-8", "acme", "free", "a\xffb", "name"},
	}
	valid := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, full, err := kr.Issue(t.Context(), tt.tenant, tt.tier, tt.keyName)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Issue: %v", err)
				}
				if rec.ID == "" || full == "" {
					t.Fatal("Issue returned an empty record or key")
				}
				valid++
				return
			}
			var fe *keys.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField {
				t.Fatalf("Issue = %v; want a FieldError for %s", err, tt.wantField)
			}
			if full != "" || rec.ID != "" {
				t.Fatal("Issue returned a key with an error")
			}
		})
	}
	ks, err := s.List(t.Context())
	if err != nil || len(ks) != valid {
		t.Fatalf("store holds %d keys, %v; want only the %d valid ones", len(ks), err, valid)
	}
}

func TestKeyJSONHasNoHash(t *testing.T) {
	kr, _ := fileKeyring(t, keys.Config{})
	rec, _ := mustIssue(t, kr)
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"id", "tenant", "tier", "name", "created_at"} {
		if _, ok := m[f]; !ok {
			t.Errorf("Key JSON lacks %s: %s", f, b)
		}
	}
	if len(m) != 5 {
		t.Fatalf("Key JSON has extra fields (the hash?): %s", b)
	}
}
