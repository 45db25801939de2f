package index_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/docstrange/mesh/internal/redistest"
	"github.com/docstrange/mesh/uploads/index"
)

func TestBolt(t *testing.T) {
	runConformance(t, harness{open: func(t *testing.T) (index.Index, func(*testing.T) index.Index) {
		path := filepath.Join(t.TempDir(), "uploads.db")
		first := openBolt(t, path)
		reopen := func(t *testing.T) index.Index {
			if err := first.Close(); err != nil {
				t.Fatalf("Close before reopen: %v", err)
			}
			return openBolt(t, path)
		}
		return first, reopen
	}})
}

func TestRedis(t *testing.T) {
	srv := redistest.Start(t)
	var n atomic.Int64
	runConformance(t, harness{open: func(t *testing.T) (index.Index, func(*testing.T) index.Index) {
		// Subtests share the server; each gets its own keys.
		prefix := fmt.Sprintf("test:%d:", n.Add(1))
		first := openRedis(t, newRedisClient(t, srv), prefix)
		reopen := func(t *testing.T) index.Index {
			return openRedis(t, newRedisClient(t, srv), prefix)
		}
		return first, reopen
	}})
}

// TestRedisTwoClients interleaves two edges, each with its own client, on
// one set of keys, both open throughout.
func TestRedisTwoClients(t *testing.T) {
	srv := redistest.Start(t)
	a := openRedis(t, newRedisClient(t, srv), "shared:")
	b := openRedis(t, newRedisClient(t, srv), "shared:")
	ctx := t.Context()

	mustAdd(t, a, index.Entry{ID: "u1", Owner: "t1", Expires: at(-time.Hour)})
	mustAdd(t, b, index.Entry{ID: "u2", Owner: "t2", Expires: at(-2 * time.Hour)})
	wantDue(t, a, base, "u2", "u1")
	wantDue(t, b, base, "u2", "u1")

	// b moves a's entry into the future; a sees it at once.
	mustAdd(t, b, index.Entry{ID: "u1", Owner: "t1", Expires: at(time.Hour)})
	wantDue(t, a, base, "u2")
	if got, err := a.Get(ctx, "u1"); err != nil || !got.Expires.Equal(at(time.Hour).Truncate(time.Millisecond)) {
		t.Fatalf("a.Get(u1) = %+v, %v", got, err)
	}

	if err := a.Remove(ctx, "u2"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	wantDue(t, b, at(2*time.Hour), "u1")
}

// TestRedisLayout pins the keys that operators inspect: a sorted set scored
// by expiry in milliseconds and a hash per upload.
func TestRedisLayout(t *testing.T) {
	srv := redistest.Start(t)
	c := newRedisClient(t, srv)
	ctx := t.Context()
	tests := []struct {
		name, prefix, wantPrefix string
	}{
		{"given prefix", "{idx}:", "{idx}:"},
		{"default prefix", "", index.DefaultRedisPrefix},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx := openRedis(t, c, tt.prefix)
			mustAdd(t, idx, index.Entry{ID: "u", Owner: "tenant", Expires: base})

			score, err := c.ZScore(ctx, tt.wantPrefix+"expiry", "u").Result()
			if err != nil || int64(score) != base.UnixMilli() {
				t.Errorf("ZSCORE = %v, %v; want %d", score, err, base.UnixMilli())
			}
			h, err := c.HGetAll(ctx, tt.wantPrefix+"upload:u").Result()
			want := map[string]string{"owner": "tenant", "expires": fmt.Sprint(base.UnixMilli())}
			if err != nil || fmt.Sprint(h) != fmt.Sprint(want) {
				t.Errorf("HGETALL = %v, %v; want %v", h, err, want)
			}

			if err := idx.Remove(ctx, "u"); err != nil {
				t.Fatalf("Remove: %v", err)
			}
			keys, err := c.Keys(ctx, strings.ReplaceAll(tt.wantPrefix, "{", `\{`)+"*").Result()
			if err != nil || len(keys) != 0 {
				t.Errorf("keys left after Remove: %v, %v", keys, err)
			}
		})
	}
}

// TestRedisPrefixesIsolate keeps two indexes on one server apart.
func TestRedisPrefixesIsolate(t *testing.T) {
	srv := redistest.Start(t)
	c := newRedisClient(t, srv)
	a, b := openRedis(t, c, "a:"), openRedis(t, c, "b:")
	mustAdd(t, a, index.Entry{ID: "u", Owner: "o", Expires: base})
	wantDue(t, b, at(time.Hour))
	if err := b.Remove(t.Context(), "u"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	wantDue(t, a, at(time.Hour), "u")
}

// TestRedisCloseLeavesClient checks that Close leaves the caller's client
// usable.
func TestRedisCloseLeavesClient(t *testing.T) {
	srv := redistest.Start(t)
	c := newRedisClient(t, srv)
	idx := index.NewRedis(c, "")
	if err := idx.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("client after Close: %v", err)
	}
}

func TestOpenBoltErrors(t *testing.T) {
	tests := []struct {
		name string
		path func(t *testing.T) string
	}{
		{"missing folder", func(t *testing.T) string { return filepath.Join(t.TempDir(), "no", "such", "uploads.db") }},
		{"path is a folder", func(t *testing.T) string { return t.TempDir() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path(t)
			b, err := index.OpenBolt(path)
			if err == nil {
				_ = b.Close()
				t.Fatal("OpenBolt succeeded")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the path", err)
			}
		})
	}
}

// openBolt opens path, closing it at cleanup.
func openBolt(t *testing.T, path string) *index.Bolt {
	t.Helper()
	b, err := index.OpenBolt(path)
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

// openRedis builds an index over c, closed at cleanup before c.
func openRedis(t *testing.T, c redis.UniversalClient, prefix string) *index.Redis {
	t.Helper()
	r := index.NewRedis(c, prefix)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// newRedisClient connects to srv; each client stands for one edge.
func newRedisClient(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	return c
}
