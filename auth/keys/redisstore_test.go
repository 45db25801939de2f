package keys_test

import (
	"encoding/base32"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docstrange/mesh/auth/keys"
	"github.com/docstrange/mesh/internal/redistest"
	"github.com/redis/go-redis/v9"
	"github.com/rs/xid"
)

// newClient returns a client of addr, closed in t.Cleanup.
func newClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newPrefix gives each store its own key space on a shared server.
func newPrefix() string { return "t" + xid.New().String() + ":" }

func TestRedisStoreConformance(t *testing.T) {
	srv := redistest.Start(t)
	var (
		mu       sync.Mutex
		prefixes = map[keys.Store]string{}
	)
	open := func(t *testing.T, prefix string) keys.Store {
		s := keys.NewRedis(newClient(t, srv.Addr()), prefix)
		t.Cleanup(func() { _ = s.Close() })
		mu.Lock()
		prefixes[s] = prefix
		mu.Unlock()
		return s
	}
	runStoreSuite(t, storeHarness{
		open: func(t *testing.T) keys.Store { return open(t, newPrefix()) },
		reopen: func(t *testing.T, s keys.Store) keys.Store {
			mu.Lock()
			p := prefixes[s]
			mu.Unlock()
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return open(t, p) // a new client too, as after a restart
		},
	})
}

// TestRedisStoreLayout pins the documented layout, which operators and
// other tools read.
func TestRedisStoreLayout(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv.Addr())
	prefix := newPrefix()
	s := keys.NewRedis(rdb, prefix)
	k := newRecord(time.Date(2025, 2, 3, 4, 5, 6, 7, time.UTC))
	mustCreate(t, s, k)

	got, err := rdb.HGetAll(t.Context(), prefix+"key:"+k.ID).Result()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"tenant": k.Tenant, "tier": k.Tier, "name": k.Name,
		"created_at": "2025-02-03T04:05:06.000000007Z", "hash": hex.EncodeToString(k.Hash),
	}
	if len(got) != len(want) {
		t.Fatalf("record hash = %v; want %v", got, want)
	}
	for f, v := range want {
		if got[f] != v {
			t.Fatalf("field %s = %q; want %q", f, got[f], v)
		}
	}
	zs, err := rdb.ZRangeWithScores(t.Context(), prefix+"keys", 0, -1).Result()
	if err != nil || len(zs) != 1 || zs[0].Member != k.ID || zs[0].Score != float64(k.CreatedAt.UnixNano()) {
		t.Fatalf("index = %v, %v; want %s scored %d", zs, err, k.ID, k.CreatedAt.UnixNano())
	}

	at := time.Date(2025, 2, 3, 5, 0, 0, 0, time.UTC)
	if _, err := s.Revoke(t.Context(), k.ID, at); err != nil {
		t.Fatal(err)
	}
	if v, _ := rdb.HGet(t.Context(), prefix+"key:"+k.ID, "revoked_at").Result(); v != "2025-02-03T05:00:00Z" {
		t.Fatalf("revoked_at = %q", v)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("Close closed the caller's client: %v", err)
	}
}

// TestRedisHoldsNoPlaintext issues keys and reads back everything in Redis:
// neither a key string nor its secret, in any encoding, may appear.
func TestRedisHoldsNoPlaintext(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv.Addr())
	kr := newKeyring(t, keys.NewRedis(rdb, newPrefix()), keys.Config{})
	ctx := t.Context()

	var needles []string
	for i := range 5 {
		rec, full, err := kr.Issue(ctx, "acme", "api_key", "key "+strconv.Itoa(i))
		if err != nil {
			t.Fatalf("Issue: %v", err)
		}
		if _, err := kr.Verify(ctx, full); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if i%2 == 0 {
			if _, err := kr.Revoke(ctx, rec.ID); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
		}
		secret := full[strings.LastIndexByte(full, '_')+1:]
		raw, err := base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding).DecodeString(secret)
		if err != nil || len(raw) != 32 {
			t.Fatalf("secret %d does not decode as the documented base32: %v", i, err)
		}
		needles = append(needles, full, secret, strings.ToUpper(secret), string(raw),
			hex.EncodeToString(raw), base32.StdEncoding.EncodeToString(raw))
	}

	names, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var haystack []string
	for _, name := range names {
		haystack = append(haystack, name)
		typ, err := rdb.Type(ctx, name).Result()
		if err != nil {
			t.Fatal(err)
		}
		switch typ {
		case "hash":
			m, err := rdb.HGetAll(ctx, name).Result()
			if err != nil {
				t.Fatal(err)
			}
			for f, v := range m {
				haystack = append(haystack, f, v)
			}
		case "zset":
			zs, err := rdb.ZRangeWithScores(ctx, name, 0, -1).Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, z := range zs {
				haystack = append(haystack, z.Member.(string))
			}
		case "string":
			v, err := rdb.Get(ctx, name).Result()
			if err != nil {
				t.Fatal(err)
			}
			haystack = append(haystack, v)
		default:
			t.Fatalf("unexpected %s at %s", typ, name)
		}
	}
	if len(haystack) < 5*7 { // 5 records of 6 fields plus the index
		t.Fatalf("read only %d strings from Redis; the scan is not seeing the data", len(haystack))
	}
	for _, hay := range haystack {
		for _, n := range needles {
			if strings.Contains(hay, n) {
				t.Fatalf("Redis holds plaintext key material in %q", hay)
			}
		}
	}
}
