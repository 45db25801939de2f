package redisstore_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/docstrange/mesh/internal/redistest"
	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/redisstore"
	"github.com/docstrange/mesh/scheduler/storetest"
	"github.com/rs/xid"
)

// testConfig gives every backend its own prefix on the shared server, which
// also proves that two stacks can share one Redis.
func testConfig(addr string) redisstore.Config {
	return redisstore.Config{
		Addr:      addr,
		Prefix:    "t" + xid.New().String() + ":",
		ClaimPoll: caddy.Duration(200 * time.Millisecond),
	}
}

func open(t *testing.T, cfg redisstore.Config) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	srv := redistest.Start(t, redistest.WithAOF())
	var (
		mu   sync.Mutex
		cfgs = map[scheduler.Backend]redisstore.Config{}
	)
	openFn := func(t *testing.T) scheduler.Backend {
		cfg := testConfig(srv.Addr())
		s := open(t, cfg)
		mu.Lock()
		cfgs[s] = cfg
		mu.Unlock()
		return s
	}
	reopen := func(t *testing.T, b scheduler.Backend) scheduler.Backend {
		mu.Lock()
		cfg := cfgs[b]
		mu.Unlock()
		if err := b.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		return open(t, cfg)
	}
	storetest.Run(t, openFn, storetest.WithReopen(reopen), storetest.WithNamedQueues(namedQueue))
}

func TestConfigRejectsBadValues(t *testing.T) {
	tests := []struct {
		name string
		cfg  redisstore.Config
		want string
	}{
		{"negative db", redisstore.Config{DB: -1}, "db -1"},
		{"negative grace", redisstore.Config{RecordGrace: caddy.Duration(-time.Hour)}, "record_grace"},
		{"poll under 1ms", redisstore.Config{ClaimPoll: caddy.Duration(time.Microsecond)}, "claim_poll"},
		{"prefix with space", redisstore.Config{Prefix: "a b"}, "prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := redisstore.New(t.Context(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v; want an error naming %q", err, tt.want)
			}
		})
	}
}

// namedQueue opens a Redis store's named queue for the conformance suite.
func namedQueue(t *testing.T, b scheduler.Backend, name string) storetest.NamedQueue {
	t.Helper()
	q, err := b.(*redisstore.Store).Queue(t.Context(), name)
	if err != nil {
		t.Fatalf("Queue(%q): %v", name, err)
	}
	return q
}
