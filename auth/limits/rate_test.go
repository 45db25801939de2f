package limits_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/docstrange/mesh/auth/limits"
	"github.com/docstrange/mesh/internal/redistest"
)

// rateEnv is one limiter and a way to get another sharing its counts.
type rateEnv struct {
	limiter *limits.RateLimiter
	// peer returns a second edge's limiter: over its own client for Redis,
	// the same limiter in memory.
	peer func(t *testing.T) *limits.RateLimiter
}

var rateBackends = []struct {
	name  string
	setup func(t *testing.T) *rateEnv
}{
	{name: "memory", setup: func(t *testing.T) *rateEnv {
		l := limits.NewMemoryRateLimiter("rl")
		return &rateEnv{limiter: l, peer: func(*testing.T) *limits.RateLimiter { return l }}
	}},
	{name: "redis", setup: func(t *testing.T) *rateEnv {
		srv := redistest.Start(t)
		open := func(t *testing.T) *limits.RateLimiter {
			l, err := limits.NewRedisRateLimiter(newClient(t, srv), "rl")
			if err != nil {
				t.Fatalf("NewRedisRateLimiter: %v", err)
			}
			return l
		}
		return &rateEnv{limiter: open(t), peer: open}
	}},
}

var rateSuite = []struct {
	name string
	run  func(t *testing.T, env *rateEnv)
}{
	{name: "budget then reached", run: testRateBudget},
	{name: "keys are independent", run: testRateKeys},
	{name: "rate per call", run: testRatePerCall},
	{name: "unlimited", run: testRateUnlimited},
	{name: "window expires", run: testRateWindow},
	{name: "peers share the budget", run: testRatePeers},
	{name: "concurrent takes never overshoot", run: testRateConcurrent},
	{name: "invalid rate", run: testRateInvalid},
}

func TestRateLimiters(t *testing.T) {
	for _, b := range rateBackends {
		t.Run(b.name, func(t *testing.T) {
			for _, tt := range rateSuite {
				t.Run(tt.name, func(t *testing.T) { tt.run(t, b.setup(t)) })
			}
		})
	}
}

func take(t *testing.T, l *limits.RateLimiter, key string, r limits.Rate) limits.RateResult {
	t.Helper()
	res, err := l.Take(t.Context(), key, r)
	if err != nil {
		t.Fatalf("Take(%q): %v", key, err)
	}
	return res
}

func testRateBudget(t *testing.T, env *rateEnv) {
	r := limits.Rate{Requests: 3, Period: time.Minute}
	start := time.Now()
	for i, wantRemaining := range []int64{2, 1, 0} {
		got := take(t, env.limiter, "free:acme", r)
		if got.Reached || got.Remaining != wantRemaining || got.Limit != 3 {
			t.Fatalf("Take #%d = %+v; want Limit 3, Remaining %d, not reached", i+1, got, wantRemaining)
		}
	}
	for range 2 {
		got := take(t, env.limiter, "free:acme", r)
		if !got.Reached || got.Remaining != 0 || got.Limit != 3 {
			t.Fatalf("Take over the budget = %+v; want reached, Remaining 0", got)
		}
		// Reset is truncated to the second.
		if !got.Reset.After(start) || got.Reset.After(start.Add(r.Period+time.Second)) {
			t.Fatalf("Reset = %v; want within (%v, %v]", got.Reset, start, start.Add(r.Period+time.Second))
		}
	}
}

func testRateKeys(t *testing.T, env *rateEnv) {
	r := limits.Rate{Requests: 1, Period: time.Minute}
	take(t, env.limiter, "free:acme", r)
	if got := take(t, env.limiter, "free:acme", r); !got.Reached {
		t.Fatalf("second Take on acme = %+v; want reached", got)
	}
	if got := take(t, env.limiter, "free:globex", r); got.Reached {
		t.Fatalf("first Take on globex = %+v; want allowed", got)
	}
}

func testRatePerCall(t *testing.T, env *rateEnv) {
	free := limits.Rate{Requests: 2, Period: time.Minute}
	pro := limits.Rate{Requests: 5, Period: time.Minute}
	for i := 1; i <= 6; i++ {
		f := take(t, env.limiter, "free:acme", free)
		p := take(t, env.limiter, "pro:acme", pro)
		if f.Reached != (i > 2) || f.Limit != 2 {
			t.Fatalf("free Take #%d = %+v; want reached=%v", i, f, i > 2)
		}
		if p.Reached != (i > 5) || p.Limit != 5 {
			t.Fatalf("pro Take #%d = %+v; want reached=%v", i, p, i > 5)
		}
	}
}

func testRateUnlimited(t *testing.T, env *rateEnv) {
	for _, n := range []int64{0, -1} {
		for range 5 {
			if got := take(t, env.limiter, "ent:acme", limits.Rate{Requests: n, Period: time.Minute}); got != (limits.RateResult{Limit: -1}) {
				t.Fatalf("unlimited Take = %+v; want {Limit: -1}", got)
			}
		}
	}
	// Nothing was counted: a limited rate on the same key starts fresh.
	if got := take(t, env.limiter, "ent:acme", limits.Rate{Requests: 1, Period: time.Minute}); got.Reached {
		t.Fatalf("limited Take after unlimited ones = %+v; want allowed", got)
	}
}

func testRateWindow(t *testing.T, env *rateEnv) {
	r := limits.Rate{Requests: 1, Period: 100 * time.Millisecond}
	take(t, env.limiter, "free:acme", r)
	if got := take(t, env.limiter, "free:acme", r); !got.Reached {
		t.Fatalf("second Take in the window = %+v; want reached", got)
	}
	time.Sleep(150 * time.Millisecond)
	if got := take(t, env.limiter, "free:acme", r); got.Reached {
		t.Fatalf("Take in the next window = %+v; want allowed", got)
	}
}

func testRatePeers(t *testing.T, env *rateEnv) {
	r := limits.Rate{Requests: 4, Period: time.Minute}
	edges := []*limits.RateLimiter{env.limiter, env.peer(t)}
	for i := range 4 {
		if got := take(t, edges[i%2], "free:acme", r); got.Reached || got.Remaining != int64(3-i) {
			t.Fatalf("Take #%d on edge %d = %+v; want Remaining %d", i+1, i%2, got, 3-i)
		}
	}
	for _, l := range edges {
		if got := take(t, l, "free:acme", r); !got.Reached {
			t.Fatalf("Take past the shared budget = %+v; want reached", got)
		}
	}
}

func testRateConcurrent(t *testing.T, env *rateEnv) {
	const workers, limit = 50, 20
	r := limits.Rate{Requests: limit, Period: time.Minute}
	edges := []*limits.RateLimiter{env.limiter, env.peer(t)}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		allowed int
		errs    []error
	)
	for i := range workers {
		wg.Go(func() {
			res, err := edges[i%2].Take(t.Context(), "free:acme", r)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if !res.Reached {
				allowed++
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("Take errors: %v", errs)
	}
	if allowed != limit {
		t.Fatalf("%d of %d concurrent Takes allowed; want %d", allowed, workers, limit)
	}
}

func testRateInvalid(t *testing.T, env *rateEnv) {
	tests := []struct {
		name string
		rate limits.Rate
	}{
		{name: "zero period", rate: limits.Rate{Requests: 5}},
		{name: "negative period", rate: limits.Rate{Requests: 5, Period: -time.Second}},
		{name: "period under a millisecond", rate: limits.Rate{Requests: 5, Period: 500 * time.Microsecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.limiter.Take(t.Context(), "free:acme", tt.rate)
			if !errors.Is(err, limits.ErrInvalidRate) || errors.Is(err, limits.ErrUnavailable) {
				t.Fatalf("Take error = %v; want ErrInvalidRate", err)
			}
		})
	}
}
