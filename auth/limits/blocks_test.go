package limits_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/ulule/limiter/v3"
	redisstore "github.com/ulule/limiter/v3/drivers/store/redis"

	"github.com/docstrange/mesh/auth/limits"
	"github.com/docstrange/mesh/internal/redistest"
)

// tripCounter counts a client's trips to Redis for a rate: each is one
// EVALSHA (followed by an EVAL when the server lacks the script).
type tripCounter struct{ n atomic.Int64 }

func (c *tripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "evalsha" {
			c.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (c *tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// blockEdge is one edge's rate limiter on a shared Redis, with its trips.
type blockEdge struct {
	*limits.RateLimiter
	trips *tripCounter
}

// newBlockEdge opens a limiter over its own client to srv whose blocks
// should last interval.
func newBlockEdge(t *testing.T, srv *redistest.Server, interval time.Duration) *blockEdge {
	t.Helper()
	c := newClient(t, srv)
	trips := &tripCounter{}
	c.AddHook(trips)
	l, err := limits.NewRedisRateLimiter(c, "rl")
	if err != nil {
		t.Fatalf("NewRedisRateLimiter: %v", err)
	}
	limits.SetBlockInterval(l, interval)
	return &blockEdge{RateLimiter: l, trips: trips}
}

// Blocks that always grow, or never.
const (
	growing = time.Hour
	single  = 0
)

// TestRedisBlocks: a Redis RateLimiter takes a busy key's requests in
// blocks through ulule's store and counts them down locally, without ever
// admitting more than the limit across edges or telling a caller more
// remain than do. Windows shorter than 2 s would make a test depend on
// where in its second the window opens: ulule's Reset is to the second,
// and a block is not used past it.
func TestRedisBlocks(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, srv *redistest.Server)
	}{
		{name: "blocks grow and are refilled when spent", run: testBlocksRefill},
		{name: "a quiet key goes to Redis every time", run: testBlocksQuiet},
		{name: "a full window refuses locally until it ends", run: testBlocksFull},
		{name: "a block that crosses the limit is refused, and its window", run: testBlocksCrossing},
		{name: "a new window drops the old block", run: testBlocksNewWindow},
		{name: "a key quiet at its window's end starts the next from one", run: testBlocksNewWindowQuiet},
		{name: "edges counting one by one share the window", run: testBlocksUluleEdge},
		{name: "two edges never admit more than the limit", run: testBlocksTwoEdges},
		{name: "remaining never over-reports", run: testBlocksRemaining},
		{name: "a block in hand is spent, then redis is needed", run: testBlocksRedisDown},
		{name: "single requests go to Redis side by side", run: testBlocksSingleConcurrent},
		{name: "a block is spent until the window's last milliseconds", run: testBlocksWindowTail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, redistest.Start(t)) })
	}
}

func testBlocksRefill(t *testing.T, srv *redistest.Server) {
	// Blocks of 1, 2, 4 … 128, then a fiftieth of the limit: 200, each
	// asked for once half the one before is spent.
	const limit, n = 10000, 1000
	r := limits.Rate{Requests: limit, Period: time.Minute}
	e := newBlockEdge(t, srv, growing)
	for i := 1; i <= n; i++ {
		if got := take(t, e.RateLimiter, "pro:acme", r); got.Reached || got.Remaining != int64(limit-i) {
			t.Fatalf("Take #%d = %+v; want Remaining %d", i, got, limit-i)
		}
	}
	limits.WaitTrips(e.RateLimiter)
	// 8 blocks hold 255 requests, 4 more of 200 the rest of the 1000, and
	// the last of those was half spent, so a fifth is in hand.
	if got := e.trips.n.Load(); got != 13 {
		t.Fatalf("%d trips to Redis for %d requests; want 13", got, n)
	}
	// Redis counted every block handed out: 255 + 5×200.
	if got := redisCount(t, srv, "pro:acme"); got != 1255 {
		t.Fatalf("redis counter %d; want 1255", got)
	}
}

func testBlocksQuiet(t *testing.T, srv *redistest.Server) {
	const limit = 10000
	r := limits.Rate{Requests: limit, Period: time.Minute}
	e := newBlockEdge(t, srv, single)
	for i := 1; i <= 20; i++ {
		if got := take(t, e.RateLimiter, "pro:acme", r); got.Remaining != int64(limit-i) {
			t.Fatalf("Take #%d = %+v; want Remaining %d", i, got, limit-i)
		}
		if got := e.trips.n.Load(); got != int64(i) {
			t.Fatalf("%d trips after %d requests; want one each", got, i)
		}
	}
	if got := redisCount(t, srv, "pro:acme"); got != 20 {
		t.Fatalf("redis counter %d; want 20: nothing held back", got)
	}
}

func testBlocksFull(t *testing.T, srv *redistest.Server) {
	r := limits.Rate{Requests: 3, Period: 2 * time.Second}
	e := newBlockEdge(t, srv, growing)
	for i := range 3 {
		if got := take(t, e.RateLimiter, "free:acme", r); got.Reached {
			t.Fatalf("Take #%d = %+v; want allowed", i+1, got)
		}
	}
	trips := e.trips.n.Load()
	var last limits.RateResult
	for range 2 {
		if last = take(t, e.RateLimiter, "free:acme", r); !last.Reached || last.Remaining != 0 {
			t.Fatalf("Take past the limit = %+v; want reached", last)
		}
	}
	if got := e.trips.n.Load() - trips; got != 0 {
		// The third request's trip counted the window full.
		t.Fatalf("%d trips for 2 refusals; want none", got)
	}
	waitWindow(t, srv, "free:acme", last.Reset)
	if got := take(t, e.RateLimiter, "free:acme", r); got.Reached || got.Remaining != 2 {
		t.Fatalf("Take in the next window = %+v; want Remaining 2", got)
	}
}

// testBlocksCrossing: ulule reports a block that crosses the limit as
// Reached without saying how much of it was under. The whole block is
// refused, and the window with it: its counter is past the limit.
func testBlocksCrossing(t *testing.T, srv *redistest.Server) {
	const limit = 1000 // blocks of at most 20
	r := limits.Rate{Requests: limit, Period: 2 * time.Second}
	e := newBlockEdge(t, srv, growing)
	// Blocks of 1, 2 and 4: slots 1…7, all spent; the block of 8 after
	// them, slots 8…15, was asked for when the 4 were half spent.
	for range 7 {
		take(t, e.RateLimiter, "pro:acme", r)
	}
	limits.WaitTrips(e.RateLimiter)
	// Other edges take 990 more, leaving none under the limit but the
	// edge's 8 in hand.
	if err := newClient(t, srv).IncrBy(t.Context(), "rl:pro:acme", 990).Err(); err != nil {
		t.Fatalf("counting for the other edges: %v", err)
	}
	for i := range 8 {
		if got := take(t, e.RateLimiter, "pro:acme", r); got.Reached || got.Remaining != int64(limit-8-i) {
			t.Fatalf("Take #%d from the block in hand = %+v; want Remaining %d", i+1, got, limit-8-i)
		}
	}
	// Half way through them the next block, 16, took slots 1006…1021.
	limits.WaitTrips(e.RateLimiter)
	if n := redisCount(t, srv, "pro:acme"); n != 1021 {
		t.Fatalf("redis counter %d; want 1021", n)
	}
	trips := e.trips.n.Load()
	var got limits.RateResult
	for range 5 {
		if got = take(t, e.RateLimiter, "pro:acme", r); !got.Reached || got.Remaining != 0 {
			t.Fatalf("Take later in the window = %+v; want reached", got)
		}
	}
	if n := e.trips.n.Load() - trips; n != 0 {
		t.Fatalf("%d trips for 5 refusals; want none", n)
	}
	// The key was busy (with the growing interval, any pause is short):
	// the next window starts with a block as big as its last, 16.
	if n := firstBlockOfNextWindow(t, e, srv, "pro:acme", r, got.Reset); n != 16 {
		t.Fatalf("redis counter in the new window %d; want a block of 16", n)
	}
}

func testBlocksNewWindow(t *testing.T, srv *redistest.Server) {
	const limit = 1000 // blocks of at most 20
	r := limits.Rate{Requests: limit, Period: 2 * time.Second}
	e := newBlockEdge(t, srv, growing)
	// Blocks of 1, 2, 4, 8, 16: 31 slots, 30 spent, one in hand, and the
	// next block, 20, taken ahead when the 16 were half spent.
	var last limits.RateResult
	for range 30 {
		last = take(t, e.RateLimiter, "pro:acme", r)
	}
	limits.WaitTrips(e.RateLimiter)
	if got := redisCount(t, srv, "pro:acme"); got != 51 {
		t.Fatalf("redis counter %d; want 51", got)
	}
	waitWindow(t, srv, "pro:acme", last.Reset)
	// The slots left belonged to the old window and are not used. The key
	// was busy (with the growing interval, any pause is short), so the new
	// window starts with a block as big as the last, 20, rather than
	// doubling from one with a trip each time.
	for i, want := range []int64{20, 20, 20, 20} {
		if got := take(t, e.RateLimiter, "pro:acme", r); got.Reached || got.Remaining != limit-int64(i+1) {
			t.Fatalf("Take #%d in the next window = %+v; want Remaining %d", i+1, got, limit-i-1)
		}
		limits.WaitTrips(e.RateLimiter)
		if got := redisCount(t, srv, "pro:acme"); got != want {
			t.Fatalf("redis counter after Take #%d in the new window %d; want %d", i+1, got, want)
		}
	}
}

// testBlocksNewWindowQuiet: a key that went quiet for more than twice the
// block interval before its window ended starts the next one from a block
// of one again, holding nothing back from other edges.
func testBlocksNewWindowQuiet(t *testing.T, srv *redistest.Server) {
	const limit = 1000
	r := limits.Rate{Requests: limit, Period: 2 * time.Second}
	e := newBlockEdge(t, srv, 200*time.Millisecond)
	var last limits.RateResult
	for range 30 {
		last = take(t, e.RateLimiter, "quiet", r)
	}
	limits.WaitTrips(e.RateLimiter)
	if n := redisCount(t, srv, "quiet"); n <= 30 {
		t.Skipf("the blocks did not grow (counter %d): the machine was too slow for a 200 ms interval", n)
	}
	// The window ends at least a second after it opened: five intervals.
	if n := firstBlockOfNextWindow(t, e, srv, "quiet", r, last.Reset); n != 1 {
		t.Fatalf("redis counter in the new window %d; want a block of one", n)
	}
}

// firstBlockOfNextWindow waits for the window of key that ends at reset to
// go, takes one request of the next, which must be admitted as its first,
// and returns Redis's counter: the size of the block that request took.
func firstBlockOfNextWindow(t *testing.T, e *blockEdge, srv *redistest.Server, key string, r limits.Rate, reset time.Time) int64 {
	t.Helper()
	waitWindow(t, srv, key, reset)
	if got := take(t, e.RateLimiter, key, r); got.Reached || got.Remaining != r.Requests-1 {
		t.Fatalf("Take in the next window = %+v; want Remaining %d", got, r.Requests-1)
	}
	return redisCount(t, srv, key)
}

// testBlocksUluleEdge: an edge that counts each request with ulule's Get
// (as every edge did before blocks) and one that takes blocks share one
// counter, at the key ulule's store uses.
func testBlocksUluleEdge(t *testing.T, srv *redistest.Server) {
	const limit = 1000
	r := limits.Rate{Requests: limit, Period: time.Minute}
	ur := limiter.Rate{Limit: limit, Period: time.Minute}
	old, err := redisstore.NewStoreWithOptions(newClient(t, srv), limiter.StoreOptions{Prefix: "rl"})
	if err != nil {
		t.Fatalf("opening ulule's store: %v", err)
	}
	e := newBlockEdge(t, srv, growing)
	steps := []struct {
		old           bool
		wantRemaining int64
		wantCounter   int64
	}{
		{wantRemaining: 999, wantCounter: 1},            // a block of 1
		{wantRemaining: 998, wantCounter: 3},            // a block of 2: slots 2, 3
		{wantRemaining: 997, wantCounter: 7},            // slot 3; the next block, 4…7, ahead
		{old: true, wantRemaining: 992, wantCounter: 8}, // slot 8
		{wantRemaining: 996, wantCounter: 8},            // slot 4, from the block ahead
		{old: true, wantRemaining: 991, wantCounter: 9}, // slot 9
		{wantRemaining: 995, wantCounter: 17},           // slot 5; the block 10…17 ahead
	}
	for i, st := range steps {
		var got int64
		if st.old {
			c, err := old.Get(t.Context(), "pro:acme", ur)
			if err != nil {
				t.Fatalf("step %d: ulule's Get: %v", i+1, err)
			}
			got = c.Remaining
		} else {
			got = take(t, e.RateLimiter, "pro:acme", r).Remaining
			limits.WaitTrips(e.RateLimiter)
		}
		if got != st.wantRemaining {
			t.Fatalf("step %d (ulule's Get %v): Remaining %d; want %d", i+1, st.old, got, st.wantRemaining)
		}
		if n := redisCount(t, srv, "pro:acme"); n != st.wantCounter {
			t.Fatalf("step %d: redis counter %d; want %d", i+1, n, st.wantCounter)
		}
	}
}

func testBlocksTwoEdges(t *testing.T, srv *redistest.Server) {
	const limit, workers, maxBlock = 1000, 16, 20
	r := limits.Rate{Requests: limit, Period: time.Minute}
	edges := []*blockEdge{newBlockEdge(t, srv, growing), newBlockEdge(t, srv, growing)}
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		remaining []int64
		errs      []error
	)
	// Each worker takes until its edge refuses: by then the edge's blocks
	// are spent, so every slot under the limit was handed out.
	for i := range workers {
		wg.Go(func() {
			for {
				res, err := edges[i%2].Take(t.Context(), "pro:acme", r)
				mu.Lock()
				switch {
				case err != nil:
					errs = append(errs, err)
				case !res.Reached:
					remaining = append(remaining, res.Remaining)
				}
				mu.Unlock()
				if err != nil || res.Reached {
					return
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("Take errors: %v", errs)
	}
	// The one block that crossed the limit, if any, was refused whole: at
	// most a block less one went unused.
	if n := len(remaining); n > limit || n < limit-(maxBlock-1) {
		t.Fatalf("%d requests admitted across two edges; want %d to %d", n, limit-(maxBlock-1), limit)
	}
	if n := redisCount(t, srv, "pro:acme"); n < limit {
		t.Fatalf("redis counter %d once both edges refuse; want at least %d", n, limit)
	}
	// Each admitted request had its own slot under the limit: told a value
	// in 0…999, once.
	slices.Sort(remaining)
	for i, v := range remaining {
		if v < 0 || v >= limit || i > 0 && v == remaining[i-1] {
			t.Fatalf("Remaining values %v; want distinct values in 0…%d", remaining, limit-1)
		}
	}
	if trips := edges[0].trips.n.Load() + edges[1].trips.n.Load(); trips > limit/4 {
		t.Fatalf("%d trips to Redis for %d requests; want blocks", trips, limit)
	}
}

// testBlocksRemaining takes from two edges in turn, as one caller behind a
// load balancer would. An edge knows the window's count as of the trip to
// Redis that took the block it spends, its last or, since the next block
// is taken ahead, the one before, so each answer may say at most the limit
// less what had been admitted anywhere before that trip, less what the
// edge admitted since.
func testBlocksRemaining(t *testing.T, srv *redistest.Server) {
	const limit = 500 // blocks of at most 10
	r := limits.Rate{Requests: limit, Period: time.Minute}
	edges := []*blockEdge{newBlockEdge(t, srv, growing), newBlockEdge(t, srv, growing)}
	// Uneven turns, so that each edge's blocks run out at other times.
	turns := []int{0, 0, 1, 0, 1, 1, 1, 0, 0, 0, 1}
	var (
		admitted int64
		seen     = map[int64]bool{}
		// For each edge, its last two trips: what had been admitted
		// anywhere before each, and what the edge admitted since.
		base, since         [2]int64
		prevBase, prevSince [2]int64
		refused             [2]bool
	)
	for i := 0; ; i++ {
		k := turns[i%len(turns)]
		e := edges[k]
		before := e.trips.n.Load()
		got := take(t, e.RateLimiter, "pro:acme", r)
		limits.WaitTrips(e.RateLimiter)
		if e.trips.n.Load() != before {
			prevBase[k], prevSince[k] = base[k], since[k]
			base[k], since[k] = admitted, 0
		}
		if got.Reached {
			if got.Remaining != 0 {
				t.Fatalf("refusal #%d = %+v; want Remaining 0", i+1, got)
			}
			// An edge refuses once the window is full, and for the
			// rest of it: both have.
			refused[k] = true
			if refused[0] && refused[1] {
				break
			}
			continue
		}
		if refused[k] {
			t.Fatalf("Take #%d on edge %d = %+v after a refusal; want reached", i+1, k, got)
		}
		admitted++
		since[k]++
		prevSince[k]++
		if most := max(limit-base[k]-since[k], limit-prevBase[k]-prevSince[k]); got.Remaining > most || got.Remaining < 0 {
			t.Fatalf("Take #%d on edge %d = %+v; want Remaining in [0, %d]", i+1, k, got, most)
		}
		if seen[got.Remaining] {
			t.Fatalf("Take #%d on edge %d: Remaining %d told twice", i+1, k, got.Remaining)
		}
		seen[got.Remaining] = true
		if i > 10*limit {
			t.Fatalf("%d admitted after %d requests; want the whole budget spent", admitted, i+1)
		}
	}
	// A block that crossed the limit was refused whole.
	if admitted > limit || admitted < limit-9 {
		t.Fatalf("%d admitted; want %d to %d", admitted, limit-9, limit)
	}
}

func testBlocksRedisDown(t *testing.T, srv *redistest.Server) {
	const limit = 1000
	r := limits.Rate{Requests: limit, Period: time.Minute}
	e := newBlockEdge(t, srv, growing)
	// Blocks of 1, 2 and 4: slots 1…7, 4 spent, 3 in hand.
	for range 4 {
		take(t, e.RateLimiter, "pro:acme", r)
	}
	srv.Kill()
	for _, want := range []int64{limit - 5, limit - 6, limit - 7} {
		if got := take(t, e.RateLimiter, "pro:acme", r); got.Reached || got.Remaining != want {
			t.Fatalf("Take from the block in hand = %+v; want Remaining %d", got, want)
		}
	}
	if _, err := e.Take(t.Context(), "pro:acme", r); !errors.Is(err, limits.ErrUnavailable) {
		t.Fatalf("Take past the block with redis down: %v; want ErrUnavailable", err)
	}
	srv.Restart()
	if got := take(t, e.RateLimiter, "pro:acme", r); got.Reached {
		t.Fatalf("Take after redis came back = %+v; want allowed", got)
	}
}

// testBlocksSingleConcurrent: a limit too small for blocks (under
// blockFraction) makes every request a trip of its own, and those go to
// Redis side by side rather than one after another.
func testBlocksSingleConcurrent(t *testing.T, srv *redistest.Server) {
	r := limits.Rate{Requests: 10, Period: time.Minute}
	c := newClient(t, srv)
	meet := &meetingHook{want: 2, met: make(chan struct{})}
	c.AddHook(meet)
	l, err := limits.NewRedisRateLimiter(c, "rl")
	if err != nil {
		t.Fatalf("NewRedisRateLimiter: %v", err)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := l.Take(t.Context(), "free:acme", r); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	select {
	case <-meet.met:
	default:
		t.Fatal("the two trips never were in flight together")
	}
}

// meetingHook holds each EVALSHA until want of them are in flight (or a
// few seconds passed), and closes met when they were.
type meetingHook struct {
	want     int64
	inFlight atomic.Int64
	once     sync.Once
	met      chan struct{}
}

func (h *meetingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *meetingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "evalsha" {
			if h.inFlight.Add(1) >= h.want {
				h.once.Do(func() { close(h.met) })
			}
			select {
			case <-h.met:
			case <-time.After(5 * time.Second):
			}
			defer h.inFlight.Add(-1)
		}
		return next(ctx, cmd)
	}
}

func (h *meetingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// redisCount reads key's window counter as another client would, at the
// key ulule's Redis store counts it: "<prefix>:<key>".
func redisCount(t *testing.T, srv *redistest.Server, key string) int64 {
	t.Helper()
	n, err := newClient(t, srv).Get(t.Context(), "rl:"+key).Int64()
	if err != nil {
		t.Fatalf("reading the counter of %q: %v", key, err)
	}
	return n
}

// windowGrace is how long after Redis ends a window waitWindow waits on.
// An edge knows a window is surely over only at the reply's arrival plus
// its TTL: Redis read the TTL somewhere between the request and the reply,
// and until then the edge must take the window for open (nextSize). On a
// loaded machine the reply comes tens of milliseconds after Redis read it,
// and a take at the moment the key vanished was a new window's first
// request to Redis but not yet to the edge, so it asked for a block of one.
const windowGrace = 200 * time.Millisecond

// waitWindow waits until Redis has ended key's window, the reset an edge
// reported for it has passed, and so has windowGrace.
func waitWindow(t *testing.T, srv *redistest.Server, key string, reset time.Time) {
	t.Helper()
	time.Sleep(time.Until(reset))
	c := newClient(t, srv)
	for {
		n, err := c.Exists(t.Context(), "rl:"+key).Result()
		if err != nil {
			t.Fatalf("checking the window of %q: %v", key, err)
		}
		if n == 0 {
			time.Sleep(windowGrace)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testBlocksWindowTail: the edge knows the window's end to the millisecond
// from the reply's TTL, so the slots it holds stay usable in the window's
// last second. From ulule's Reset, rounded down to the second, the edge
// stopped up to a second early and sent every request of that tail to
// Redis on its own.
func testBlocksWindowTail(t *testing.T, srv *redistest.Server) {
	const period = 2 * time.Second
	r := limits.Rate{Requests: 100000, Period: period}
	e := newBlockEdge(t, srv, growing)
	opened := time.Now()
	// Blocks of 1, 2 and 4: three trips, three slots left in hand.
	for i := 1; i <= 4; i++ {
		take(t, e.RateLimiter, "tail", r)
	}
	if got := e.trips.n.Load(); got != 3 {
		t.Fatalf("%d trips for 4 requests; want 3", got)
	}
	// 300 ms before the window can end at the earliest.
	time.Sleep(time.Until(opened.Add(period - 300*time.Millisecond)))
	for i := 5; i <= 7; i++ {
		if got := take(t, e.RateLimiter, "tail", r); got.Reached || got.Remaining != int64(100000-i) {
			t.Fatalf("Take #%d = %+v; want Remaining %d", i, got, 100000-i)
		}
	}
	if time.Since(opened) >= period {
		t.Skip("the machine was too slow to reach the window's tail in time")
	}
	// The block in hand served the tail (Remaining above); the one trip
	// since took the next block ahead, when the 4 were half spent.
	limits.WaitTrips(e.RateLimiter)
	if got := e.trips.n.Load(); got != 4 {
		t.Errorf("%d trips after the window's tail; want the 3 of before and one block ahead", got)
	}
}
