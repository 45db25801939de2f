package e2e

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/internal/redistest"
)

// testPepper is the API-key pepper edges sharing a Redis share.
const testPepper = "DOCSTRANGE_KEY_PEPPER=e2e-pepper-0123456789abcdef0123456789abcdef"

// TestTwoEdgesShareRedis runs two edge processes on one Redis, as two
// replicas behind a load balancer: a key issued on one works on the other,
// the document quota holds across both under concurrent submissions, a
// revocation made on one holds on the other within 1 s, and Redis holds no
// plaintext key.
func TestTwoEdgesShareRedis(t *testing.T) {
	srv := redistest.Start(t)
	tiersFile := filepath.Join(t.TempDir(), "tiers.json")
	data := tierData(t)
	const quota = 5
	data["api_key"]["quota"].(map[string]any)["documents"] = quota
	writeTiers(t, tiersFile, data)
	env := []string{"DOCSTRANGE_STORE=redis", "DOCSTRANGE_REDIS_ADDR=" + srv.Addr(), "DOCSTRANGE_REDIS_PREFIX=shared:",
		testPepper, "DOCSTRANGE_TIERS_FILE=" + tiersFile, "DOCSTRANGE_WORKERS=1"}
	a := startStack(t, env...)
	b := startStack(t, env...)

	k := a.issueKey("acme", "api_key")
	if r := b.as(k.Key, http.MethodGet, "/api/v1/me", nil, ""); r.status != http.StatusOK {
		t.Fatalf("a key issued on edge a, used on edge b: %d %s", r.status, r.body)
	}

	// Twice the quota, half through each edge, all at once.
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for i := range 2 * quota {
		edge := a
		if i%2 == 1 {
			edge = b
		}
		wg.Go(func() {
			body, ct := textForm(t, "doc", nil)
			req, _ := http.NewRequest(http.MethodPost, edge.base+"/api/v1/documents", strings.NewReader(string(body)))
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Authorization", "Bearer "+k.Key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses[http.StatusAccepted] != quota || statuses[http.StatusTooManyRequests] != quota {
		t.Fatalf("statuses %v: want %d accepted and %d refused across both edges", statuses, quota, quota)
	}
	var usage struct {
		Quota struct{ Limit, Used, Remaining int64 }
	}
	b.as(k.Key, http.MethodGet, "/api/v1/usage", nil, "").json(t, &usage)
	if usage.Quota.Used != quota || usage.Quota.Remaining != 0 || usage.Quota.Limit != quota {
		t.Fatalf("usage on edge b: %+v", usage)
	}

	// Redis holds hashes, never the key or its secret.
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	secret := k.Key[strings.LastIndex(k.Key, "_")+1:]
	assertNotInRedis(t, rdb, k.Key, secret)

	// Revoke on a; b must refuse within 1 s. Keep b's cache warm first so
	// the test measures the cache bound, not a cold read.
	if r := b.as(k.Key, http.MethodGet, "/api/v1/me", nil, ""); r.status != http.StatusOK {
		t.Fatalf("before revocation: %d %s", r.status, r.body)
	}
	if r := a.adminJSON(http.MethodDelete, "/admin/v1/keys/"+k.ID, nil); r.status != http.StatusOK {
		t.Fatalf("revoking: %d %s", r.status, r.body)
	}
	revokedAt := time.Now()
	if r := a.as(k.Key, http.MethodGet, "/api/v1/me", nil, ""); r.status != http.StatusUnauthorized {
		t.Fatalf("edge a after its own revocation: %d %s", r.status, r.body)
	}
	for {
		r := b.as(k.Key, http.MethodGet, "/api/v1/me", nil, "")
		if r.status == http.StatusUnauthorized {
			wantError(t, r, http.StatusUnauthorized, api.CodeUnauthenticated)
			break
		}
		if time.Since(revokedAt) > time.Second {
			t.Fatalf("edge b still accepts the key %s after the revocation on edge a: %d", time.Since(revokedAt), r.status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("revocation held on edge b after %s", time.Since(revokedAt))
}

func assertNotInRedis(t *testing.T, rdb *redis.Client, needles ...string) {
	t.Helper()
	ctx := context.Background()
	names, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("redis is empty: the keys are stored elsewhere")
	}
	for _, name := range names {
		var vals []string
		switch rdb.Type(ctx, name).Val() {
		case "string":
			vals = []string{rdb.Get(ctx, name).Val()}
		case "hash":
			for f, v := range rdb.HGetAll(ctx, name).Val() {
				vals = append(vals, f, v)
			}
		case "zset":
			vals = rdb.ZRange(ctx, name, 0, -1).Val()
		case "set":
			vals = rdb.SMembers(ctx, name).Val()
		case "list":
			vals = rdb.LRange(ctx, name, 0, -1).Val()
		case "stream":
			for _, m := range rdb.XRange(ctx, name, "-", "+").Val() {
				for f, v := range m.Values {
					vals = append(vals, f, v.(string))
				}
			}
		}
		for _, v := range append(vals, name) {
			for _, n := range needles {
				if strings.Contains(v, n) {
					t.Fatalf("redis key %s holds a plaintext key", name)
				}
			}
		}
	}
}

// TestRedisDownFailsClosed: with Redis gone, authenticated requests get 503
// DEPENDENCY_UNAVAILABLE in the error shape, never a crash or a hang, and
// service comes back with Redis.
func TestRedisDownFailsClosed(t *testing.T) {
	srv := redistest.Start(t)
	s := startStack(t, "DOCSTRANGE_STORE=redis", "DOCSTRANGE_REDIS_ADDR="+srv.Addr(), testPepper, "DOCSTRANGE_WORKERS=-1")
	if r := s.get("/api/v1/me"); r.status != http.StatusOK {
		t.Fatalf("me: %d %s", r.status, r.body)
	}
	srv.Kill()
	for _, path := range []string{"/api/v1/me", "/api/v1/jobs"} {
		start := time.Now()
		r := s.get(path)
		wantError(t, r, http.StatusServiceUnavailable, api.CodeDependencyUnavailable)
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("%s took %s with Redis down", path, took)
		}
		if r.header.Get("Retry-After") == "" {
			t.Fatalf("503 without Retry-After on %s", path)
		}
	}
	// Liveness does not depend on Redis.
	if r := s.get("/api/v1/health/live"); r.status != http.StatusOK {
		t.Fatalf("live with Redis down: %d", r.status)
	}
	srv.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := s.get("/api/v1/me")
		if r.status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery 10s after Redis came back: %d %s", r.status, r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRedisDownFailsOpen: with on_store_error open, a dead rate-limit store
// lets anonymous callers through uncounted (no RateLimit headers) instead
// of refusing them.
func TestRedisDownFailsOpen(t *testing.T) {
	srv := redistest.Start(t)
	s := startStack(t, "DOCSTRANGE_STORE=redis", "DOCSTRANGE_REDIS_ADDR="+srv.Addr(), testPepper,
		"DOCSTRANGE_WORKERS=-1", "DOCSTRANGE_ON_STORE_ERROR=open")
	me := func() *response {
		req, _ := http.NewRequest(http.MethodGet, s.base+"/api/v1/me", nil)
		return s.do(anonymous(req))
	}
	if r := me(); r.status != http.StatusOK || r.header.Get("RateLimit-Limit") == "" {
		t.Fatalf("me with Redis up: %d %v", r.status, r.header)
	}
	srv.Kill()
	r := me()
	if r.status != http.StatusOK || r.header.Get("RateLimit-Limit") != "" {
		t.Fatalf("me with Redis down, failing open: %d %v %s", r.status, r.header, r.body)
	}
	// The log line may reach the pipe just after the answer.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(s.logs.String(), "letting the request through"); {
		if time.Now().After(deadline) {
			t.Fatal("failing open was not logged")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
