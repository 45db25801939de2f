package keys

import (
	"crypto/rand"
	"strconv"
	"testing"
	"time"
)

func TestParseKeyMatchesEncoding(t *testing.T) {
	id := IDPrefix + "d0bqh2m5s8b0gdah8v60"
	for i := range 2000 {
		var raw [secretBytes]byte
		switch i {
		case 0: // all zero
		case 1:
			for j := range raw {
				raw[j] = 0xff
			}
		default:
			_, _ = rand.Read(raw[:])
		}
		full := formatKey(id, secretEncoding.EncodeToString(raw[:]))
		if len(full) != keyStringLen {
			t.Fatalf("key length %d; want %d", len(full), keyStringLen)
		}
		var got [secretBytes]byte
		x, ok := parseKey(full, &got)
		if !ok || x != id[len(IDPrefix):] || got != raw {
			t.Fatalf("parseKey(%q) = %q, %x, %t; want %x", full, x, got, ok, raw)
		}
	}
}

func TestValidID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{"xid", "key_d0bqh2m5s8b0gdah8v60", true},
		{"no prefix", "d0bqh2m5s8b0gdah8v60", false},
		{"short", "key_d0bqh2m5s8b0gdah8v6", false},
		{"long", "key_d0bqh2m5s8b0gdah8v600", false},
		{"outside alphabet", "key_d0bqh2m5s8b0gdah8vw0", false},
		{"upper case", "key_D0BQH2M5S8B0GDAH8V60", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidID(tt.id); got != tt.want {
				t.Fatalf("ValidID(%q) = %t; want %t", tt.id, got, tt.want)
			}
		})
	}
}

func TestCacheBound(t *testing.T) {
	c := newCache(3)
	t0 := time.Unix(0, 0)
	for i := range 10 {
		c.put(strconv.Itoa(i), Key{ID: strconv.Itoa(i)}, t0.Add(time.Second), c.generation())
		if c.len() > 3 {
			t.Fatalf("cache holds %d entries; bound is 3", c.len())
		}
	}
	if k, _, ok := c.get("9", t0); !ok || k.ID != "9" {
		t.Fatal("the newest entry was evicted")
	}
	// Overwriting an entry in a full cache evicts nothing.
	c.put("9", Key{ID: "9"}, t0.Add(time.Second), c.generation())
	if c.len() != 3 {
		t.Fatalf("cache holds %d entries after an overwrite; want 3", c.len())
	}
}

func TestCacheExpiryAndDrop(t *testing.T) {
	c := newCache(10)
	t0 := time.Unix(0, 0)
	c.put("a", Key{ID: "a"}, t0.Add(time.Second), c.generation())
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"before expiry", t0.Add(time.Second - 1), true},
		{"at expiry", t0.Add(time.Second), false},
		{"after expiry", t0.Add(2 * time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, ok := c.get("a", tt.at); ok != tt.want {
				t.Fatalf("get at %s = %t; want %t", tt.at, ok, tt.want)
			}
		})
	}
	gen := c.generation()
	c.drop("a")
	if _, _, ok := c.get("a", t0); ok {
		t.Fatal("dropped entry still cached")
	}
	// A record read before the drop must not be cached after it.
	c.put("a", Key{ID: "a"}, t0.Add(time.Second), gen)
	if _, _, ok := c.get("a", t0); ok {
		t.Fatal("a put from before a drop was cached")
	}
}

func TestVerifyHitAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	s, err := OpenFile(t.TempDir() + "/keys.json")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	now := time.Now() // a stopped clock: the entry never expires mid-test
	kr, err := NewKeyring(s, Config{Pepper: make([]byte, 32), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	_, full, err := kr.Issue(t.Context(), "acme", "free", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := kr.Verify(ctx, full); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := kr.Verify(ctx, full); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Fatalf("a cache hit allocates %.1f times; want 0", allocs)
	}
}
