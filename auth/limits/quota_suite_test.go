package limits_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/docstrange/mesh/auth/limits"
	"github.com/docstrange/mesh/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// quotaEnv is one empty backing (a file, a server) and handles on it.
type quotaEnv struct {
	store limits.QuotaStore
	// peer returns another handle sharing the counts, as a second edge
	// would: a store over its own client for Redis, the same handle for
	// bolt, whose file lock admits one process.
	peer func(t *testing.T) limits.QuotaStore
	// reopen closes store and opens the backing again, as a restart would.
	reopen func(t *testing.T) limits.QuotaStore
}

// quotaBackends lists every QuotaStore implementation; each test in
// quotaSuite runs against each (STYLE.md: same suite for every
// implementation).
var quotaBackends = []struct {
	name  string
	setup func(t *testing.T) *quotaEnv
}{
	{name: "bolt", setup: boltEnv},
	{name: "redis", setup: redisEnv},
}

func openBolt(t testing.TB, path string) *limits.BoltQuotas {
	t.Helper()
	s, err := limits.OpenBoltQuotas(path)
	if err != nil {
		t.Fatalf("OpenBoltQuotas: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func boltEnv(t *testing.T) *quotaEnv {
	path := filepath.Join(t.TempDir(), "quotas.db")
	env := &quotaEnv{store: openBolt(t, path)}
	env.peer = func(*testing.T) limits.QuotaStore { return env.store }
	env.reopen = func(t *testing.T) limits.QuotaStore {
		if err := env.store.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		env.store = openBolt(t, path)
		return env.store
	}
	return env
}

// newClient connects to srv with the timeouts a production edge would set.
func newClient(t testing.TB, srv *redistest.Server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:         srv.Addr(),
		DialTimeout:  300 * time.Millisecond,
		ReadTimeout:  300 * time.Millisecond,
		WriteTimeout: 300 * time.Millisecond,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func redisEnv(t *testing.T) *quotaEnv {
	srv := redistest.Start(t)
	open := func(t *testing.T) limits.QuotaStore {
		return limits.NewRedisQuotas(newClient(t, srv), "quota")
	}
	env := &quotaEnv{store: open(t), peer: open}
	env.reopen = func(t *testing.T) limits.QuotaStore {
		_ = env.store.Close()
		env.store = open(t)
		return env.store
	}
	return env
}

var quotaSuite = []struct {
	name string
	run  func(t *testing.T, env *quotaEnv)
}{
	{name: "limit enforced exactly", run: testQuotaLimit},
	{name: "release refunds", run: testQuotaRelease},
	{name: "period rollover", run: testQuotaRollover},
	{name: "unlimited", run: testQuotaUnlimited},
	{name: "concurrent reserves never overshoot", run: testQuotaConcurrent},
	{name: "counts survive reopen", run: testQuotaReopen},
	{name: "invalid arguments", run: testQuotaInvalid},
}

func TestQuotaStores(t *testing.T) {
	for _, b := range quotaBackends {
		t.Run(b.name, func(t *testing.T) {
			for _, tt := range quotaSuite {
				t.Run(tt.name, func(t *testing.T) { tt.run(t, b.setup(t)) })
			}
		})
	}
}

// mid-June 2026: the month quota resets on July 1st.
var june = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

func utc(y int, m time.Month, d, h, min, s int) time.Time {
	return time.Date(y, m, d, h, min, s, 0, time.UTC)
}

func reserve(t *testing.T, s limits.QuotaStore, tenant string, q limits.Quota, n int64, now time.Time) limits.QuotaResult {
	t.Helper()
	res, err := s.Reserve(t.Context(), tenant, q, n, now)
	if err != nil {
		t.Fatalf("Reserve(%q, %d): %v", tenant, n, err)
	}
	return res
}

func usage(t *testing.T, s limits.QuotaStore, tenant string, q limits.Quota, now time.Time) limits.QuotaResult {
	t.Helper()
	res, err := s.Usage(t.Context(), tenant, q, now)
	if err != nil {
		t.Fatalf("Usage(%q): %v", tenant, err)
	}
	return res
}

func release(t *testing.T, s limits.QuotaStore, tenant string, q limits.Quota, n int64, at time.Time) {
	t.Helper()
	if err := s.Release(t.Context(), tenant, q, n, at); err != nil {
		t.Fatalf("Release(%q, %d): %v", tenant, n, err)
	}
}

func testQuotaLimit(t *testing.T, env *quotaEnv) {
	q := limits.Quota{Documents: 5, Period: limits.Month}
	wantReset := utc(2026, 7, 1, 0, 0, 0)
	steps := []struct {
		name        string
		tenant      string
		n           int64
		wantAllowed bool
		wantUsed    int64
	}{
		{name: "first two", tenant: "acme", n: 2, wantAllowed: true, wantUsed: 2},
		{name: "three more reach the limit", tenant: "acme", n: 3, wantAllowed: true, wantUsed: 5},
		{name: "one more is refused", tenant: "acme", n: 1, wantAllowed: false, wantUsed: 5},
		{name: "another tenant has its own count", tenant: "globex", n: 5, wantAllowed: true, wantUsed: 5},
		{name: "more than the limit at once counts nothing", tenant: "initech", n: 6, wantAllowed: false, wantUsed: 0},
		{name: "exactly the limit at once", tenant: "initech", n: 5, wantAllowed: true, wantUsed: 5},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			got := reserve(t, env.store, st.tenant, q, st.n, june)
			want := limits.QuotaResult{Allowed: st.wantAllowed, Used: st.wantUsed, Limit: 5, Reset: wantReset}
			if got != want {
				t.Fatalf("Reserve = %+v; want %+v", got, want)
			}
		})
	}
	if got, want := usage(t, env.store, "acme", q, june), (limits.QuotaResult{Used: 5, Limit: 5, Reset: wantReset}); got != want {
		t.Fatalf("Usage at the limit = %+v; want %+v", got, want)
	}
	none := limits.Quota{Documents: 0, Period: limits.Month}
	if got := reserve(t, env.store, "suspended", none, 1, june); got.Allowed || got.Used != 0 || got.Limit != 0 {
		t.Fatalf("Reserve with a zero quota = %+v; want refused, nothing counted", got)
	}
}

func testQuotaRelease(t *testing.T, env *quotaEnv) {
	q := limits.Quota{Documents: 5, Period: limits.Day}
	reserve(t, env.store, "acme", q, 5, june)

	release(t, env.store, "acme", q, 2, june)
	if got := usage(t, env.store, "acme", q, june); got.Used != 3 || !got.Allowed {
		t.Fatalf("Usage after releasing 2 of 5 = %+v; want Used 3, Allowed", got)
	}
	if got := reserve(t, env.store, "acme", q, 2, june); !got.Allowed || got.Used != 5 {
		t.Fatalf("Reserve of the refunded 2 = %+v; want allowed, Used 5", got)
	}
	release(t, env.store, "acme", q, 100, june)
	if got := usage(t, env.store, "acme", q, june); got.Used != 0 {
		t.Fatalf("Usage after releasing more than used = %+v; want Used 0", got)
	}
	release(t, env.store, "nobody", q, 3, june)
	if got := reserve(t, env.store, "nobody", q, 5, june); !got.Allowed || got.Used != 5 {
		t.Fatalf("Reserve after a release of nothing = %+v; want allowed, Used 5", got)
	}
}

func testQuotaRollover(t *testing.T, env *quotaEnv) {
	tokyo := time.FixedZone("UTC+9", 9*3600)
	tests := []struct {
		name        string
		period      limits.Period
		start, last time.Time // first and last instants of one period
		next        time.Time // first instant of the next
		wantReset   time.Time // = next in UTC
		wantReset2  time.Time // end of the next period
	}{
		{name: "day", period: limits.Day, start: utc(2026, 6, 30, 0, 0, 0), last: utc(2026, 6, 30, 23, 59, 59),
			next: utc(2026, 7, 1, 0, 0, 0), wantReset: utc(2026, 7, 1, 0, 0, 0), wantReset2: utc(2026, 7, 2, 0, 0, 0)},
		{name: "day across new year", period: limits.Day, start: utc(2026, 12, 31, 0, 0, 0), last: utc(2026, 12, 31, 23, 59, 59),
			next: utc(2027, 1, 1, 0, 0, 0), wantReset: utc(2027, 1, 1, 0, 0, 0), wantReset2: utc(2027, 1, 2, 0, 0, 0)},
		{name: "day in a zone east of UTC", period: limits.Day, start: time.Date(2026, 6, 30, 9, 0, 0, 0, tokyo),
			last: time.Date(2026, 7, 1, 8, 59, 59, 0, tokyo), next: time.Date(2026, 7, 1, 9, 0, 0, 0, tokyo),
			wantReset: utc(2026, 7, 1, 0, 0, 0), wantReset2: utc(2026, 7, 2, 0, 0, 0)},
		{name: "month of 31 days", period: limits.Month, start: utc(2026, 1, 1, 0, 0, 0), last: utc(2026, 1, 31, 23, 59, 59),
			next: utc(2026, 2, 1, 0, 0, 0), wantReset: utc(2026, 2, 1, 0, 0, 0), wantReset2: utc(2026, 3, 1, 0, 0, 0)},
		{name: "month december to january", period: limits.Month, start: utc(2026, 12, 1, 0, 0, 0), last: utc(2026, 12, 31, 23, 59, 59),
			next: utc(2027, 1, 1, 0, 0, 0), wantReset: utc(2027, 1, 1, 0, 0, 0), wantReset2: utc(2027, 2, 1, 0, 0, 0)},
		{name: "month leap february", period: limits.Month, start: utc(2028, 2, 1, 0, 0, 0), last: utc(2028, 2, 29, 23, 59, 59),
			next: utc(2028, 3, 1, 0, 0, 0), wantReset: utc(2028, 3, 1, 0, 0, 0), wantReset2: utc(2028, 4, 1, 0, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := limits.Quota{Documents: 1, Period: tt.period}
			tenant := tt.name
			if got := reserve(t, env.store, tenant, q, 1, tt.last); !got.Allowed || got.Used != 1 || !got.Reset.Equal(tt.wantReset) {
				t.Fatalf("Reserve at the last second = %+v; want allowed, Used 1, Reset %v", got, tt.wantReset)
			}
			if got := reserve(t, env.store, tenant, q, 1, tt.start); got.Allowed || got.Used != 1 {
				t.Fatalf("Reserve at the period's first second = %+v; want refused (same period)", got)
			}
			got := reserve(t, env.store, tenant, q, 1, tt.next)
			if !got.Allowed || got.Used != 1 || !got.Reset.Equal(tt.wantReset2) {
				t.Fatalf("Reserve in the next period = %+v; want allowed, Used 1, Reset %v", got, tt.wantReset2)
			}
			if got.Reset.Location() != time.UTC {
				t.Fatalf("Reset in %v; want UTC", got.Reset.Location())
			}

			// A refund of the old period's reservation must not credit the new one.
			release(t, env.store, tenant, q, 1, tt.last)
			if got := usage(t, env.store, tenant, q, tt.next); got.Used != 1 {
				t.Fatalf("Usage of the new period after a late release = %+v; want Used 1", got)
			}
			if got := usage(t, env.store, tenant, q, tt.last); got.Used != 0 {
				t.Fatalf("Usage of the old period after the release = %+v; want Used 0", got)
			}
		})
	}
}

func testQuotaUnlimited(t *testing.T, env *quotaEnv) {
	for _, docs := range []int64{-1, -5} {
		t.Run(fmt.Sprint(docs), func(t *testing.T) {
			q := limits.Quota{Documents: docs, Period: limits.Month}
			tenant := fmt.Sprint("big", docs)
			if got := reserve(t, env.store, tenant, q, 1_000_000, june); !got.Allowed || got.Used != 1_000_000 || got.Limit != -1 {
				t.Fatalf("Reserve = %+v; want allowed, Used 1000000, Limit -1", got)
			}
			reserve(t, env.store, tenant, q, 1, june)
			if got := usage(t, env.store, tenant, q, june); !got.Allowed || got.Used != 1_000_001 || got.Limit != -1 {
				t.Fatalf("Usage = %+v; want allowed, Used 1000001, Limit -1", got)
			}
		})
	}
}

func testQuotaConcurrent(t *testing.T, env *quotaEnv) {
	const workers, limit = 50, 20
	q := limits.Quota{Documents: limit, Period: limits.Month}
	edges := []limits.QuotaStore{env.store, env.peer(t)}

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		granted = map[int64]int{} // Used reported by each allowed Reserve
		errs    []error
	)
	for i := range workers {
		wg.Go(func() {
			res, err := edges[i%len(edges)].Reserve(t.Context(), "acme", q, 1, june)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if res.Allowed {
				granted[res.Used]++
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("Reserve errors: %v", errs)
	}
	// Exactly one reservation saw each count 1…limit.
	if len(granted) != limit {
		t.Fatalf("%d reservations allowed (counts %v); want %d", len(granted), granted, limit)
	}
	for used, n := range granted {
		if used < 1 || used > limit || n != 1 {
			t.Fatalf("allowed reservations reported counts %v; want each of 1…%d once", granted, limit)
		}
	}
	for _, s := range edges {
		if got := usage(t, s, "acme", q, june); got.Used != limit {
			t.Fatalf("Usage = %+v; want Used %d", got, limit)
		}
	}
}

func testQuotaReopen(t *testing.T, env *quotaEnv) {
	// The real clock: opening a bolt file prunes by it.
	now := time.Now()
	q := limits.Quota{Documents: 5, Period: limits.Day}
	reserve(t, env.store, "acme", q, 3, now)

	s := env.reopen(t)
	if got := usage(t, s, "acme", q, now); got.Used != 3 {
		t.Fatalf("Usage after reopen = %+v; want Used 3", got)
	}
	if got := reserve(t, s, "acme", q, 3, now); got.Allowed {
		t.Fatalf("Reserve of 3 more after reopen = %+v; want refused", got)
	}
	if got := reserve(t, s, "acme", q, 2, now); !got.Allowed || got.Used != 5 {
		t.Fatalf("Reserve of 2 more after reopen = %+v; want allowed, Used 5", got)
	}
}

func testQuotaInvalid(t *testing.T, env *quotaEnv) {
	tests := []struct {
		name    string
		tenant  string
		q       limits.Quota
		n       int64
		wantErr error
	}{
		{name: "unknown period", tenant: "acme", q: limits.Quota{Documents: 5, Period: "week"}, n: 1, wantErr: limits.ErrInvalidPeriod},
		{name: "empty period", tenant: "acme", q: limits.Quota{Documents: 5}, n: 1, wantErr: limits.ErrInvalidPeriod},
		{name: "empty tenant", tenant: "", q: limits.Quota{Documents: 5, Period: limits.Day}, n: 1, wantErr: limits.ErrInvalidRequest},
		{name: "zero documents", tenant: "acme", q: limits.Quota{Documents: 5, Period: limits.Day}, n: 0, wantErr: limits.ErrInvalidRequest},
		{name: "negative documents", tenant: "acme", q: limits.Quota{Documents: 5, Period: limits.Day}, n: -3, wantErr: limits.ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.store.Reserve(t.Context(), tt.tenant, tt.q, tt.n, june)
			if !errors.Is(err, tt.wantErr) || errors.Is(err, limits.ErrUnavailable) {
				t.Fatalf("Reserve error = %v; want %v", err, tt.wantErr)
			}
			err = env.store.Release(t.Context(), tt.tenant, tt.q, tt.n, june)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Release error = %v; want %v", err, tt.wantErr)
			}
		})
	}
	if _, err := env.store.Usage(t.Context(), "acme", limits.Quota{Period: "year"}, june); !errors.Is(err, limits.ErrInvalidPeriod) {
		t.Fatalf("Usage error = %v; want ErrInvalidPeriod", err)
	}
}
