package limits

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ulule/limiter/v3"
)

const (
	// blockFraction bounds a block to limit/blockFraction requests: the
	// most one edge can hold back from the others, and the most a window
	// can lose to a block that crosses its limit.
	blockFraction = 50
	// maxBlock bounds a block whatever the limit.
	maxBlock = 1000
	// defaultBlockInterval is how long a block should last: one spent
	// sooner doubles the next, one that lasted longer halves it.
	//
	// The next block is taken once half of this one is spent, so half the
	// interval is how slow a trip to Redis may be before requests wait on
	// it. At 10 ms, on two cores shared by the edge, Redis and the load,
	// trips that slow were common enough to add 15-25 ms to the p99 of the
	// chain bench.
	defaultBlockInterval = 100 * time.Millisecond
	// resetMargin is taken off the earliest end of the window that a
	// block's reply allows, for Redis keeping TTLs in whole milliseconds.
	resetMargin = time.Millisecond
	// sweepEvery is how often the leases of ended windows and idle keys are
	// dropped.
	sweepEvery = time.Minute
)

// blocks is the Redis side of a RateLimiter. Asking Redis on every request
// costs a round trip per request for a counter that rarely says no; on a
// few cores shared by the edge, Redis and the clients that was a sixth of
// the edge's CPU. So an edge takes a key's requests in blocks, through
// ulule's Redis store: Increment(key, n) adds n to the window's counter,
// the one ulule's Get adds 1 to, so edges that take blocks and edges that
// count one by one share each window. When the window is not Reached, the
// counter is limit-Remaining, and the block is its slots count-n+1 …
// count, all under the limit: this edge's to admit, counted down in memory
// until spent or until the window's end draws near. Every slot goes to one
// edge, so no number of edges admits more than the limit.
//
// A block fits the key: a window's first is one request, and each next
// one doubles when the last was spent within interval and halves when it
// was not, up to a fiftieth of the limit (and maxBlock). A key still busy
// when its window ends starts the next with a block as big as its last
// (the window's last milliseconds go one request a trip, as below). A key
// that sees a request now and then goes to Redis every time and holds
// nothing back from the other edges; a busy key goes to Redis 5 to 20
// times a second.
// A Redis that dies is noticed when the block in hand is spent: what that
// block admits after the death was counted in Redis before it, so failing
// closed still lets nothing through uncounted.
//
// ulule says less than the counter knows, and each gap costs slots, never
// an excess request:
//   - Reached says the counter passed the limit, not by how much, so the
//     part of that block still under the limit is unknown: the whole block
//     is refused, losing at most n-1 slots. The counter only grows within
//     a window, so one block at most crosses the limit, and the counter is
//     then past it: the key is refused here, with no trip, until Reset.
//   - Reset is the window's end rounded down to the second. The script's
//     reply also holds the TTL in milliseconds (withTTLSink reads it), and
//     Redis read it no sooner than the block was asked for, so a block is
//     spent only until then plus the TTL, less resetMargin: an edge stops
//     using blocks a trip and a millisecond before each window ends, and
//     asks Redis for each request in that tail, one slot at a time. The
//     slots it holds when it stops are lost. (From Reset alone the tail was
//     up to a second, every request of it a trip of its own: at 10,000
//     requests a second of one key, over 1% of them.)
//
// An edge that crossed the limit held no slots, and one that held slots at
// its deadline had not crossed the limit, so an edge loses at most n-1
// slots a window, n ≤ min(limit/50, maxBlock) being its largest block.
//
// A request in slot s is told limit-s remaining. One edge alone hands out
// every slot, so its Remaining is exact; with several, an edge's answer is
// what the window had left when it took its block (the other edges' unspent
// blocks counted as spent) less what it admitted since, and misses what the
// others admitted after that.
type blocks struct {
	store limiter.Store // ulule's Redis store
	cfg   redisConfig
	// interval is defaultBlockInterval; tests set it.
	interval time.Duration

	mu     sync.Mutex
	leases map[string]*lease
	swept  time.Time
}

// lease is one key's block and what this edge knows of its window.
type lease struct {
	rate Rate
	// next … last are the slots this edge may still hand out, until
	// deadline: Reset less the trip that reported it and resetMargin.
	next, last int64
	deadline   time.Time
	// full: the window's counter has reached the limit, so every request
	// until reset is refused here, with no round trip.
	full bool
	// reset is the window's end to the second, as ulule reports it and
	// RateResult.Reset tells.
	reset time.Time
	// size and asked are the last block's size and when it was asked for;
	// they size the next one.
	size  int64
	asked time.Time
	// refill is the block in flight for this key, if any: the key's other
	// requests wait for it rather than each making a trip of their own.
	refill *refill
	// A busy key's next block is asked for once half of the one in hand is
	// spent (its trip is the key's refill, which requests wait on only
	// once the block in hand has run out), and kept as aheadFirst …
	// aheadLast (hasAhead) until then, so that they do not wait on Redis.
	hasAhead   bool
	aheadFirst int64
	aheadLast  int64
	// trips counts this key's trips in flight, so that a sweep leaves the
	// lease they will write to.
	trips int
	// busy is the size of the key's last block of more than one, busyAt
	// when it was asked for and busyEnd the latest its window can end. A
	// key still busy when that window is over starts the next one with a
	// block that size (nextSize).
	busy    int64
	busyAt  time.Time
	busyEnd time.Time
}

// refill is one trip to Redis that other requests may wait on.
type refill struct {
	done chan struct{}
	err  error
	// retry: the trip failed because its own caller gave up, which says
	// nothing about Redis, so a waiter should try again.
	retry bool
}

func newBlocks(store limiter.Store, cfg redisConfig) *blocks {
	return &blocks{store: store, cfg: cfg, interval: defaultBlockInterval, leases: map[string]*lease{}}
}

// take answers from the key's block, or refills it from Redis.
func (b *blocks) take(ctx context.Context, key string, rate Rate) (RateResult, error) {
	for {
		b.mu.Lock()
		now := time.Now()
		ls := b.leases[key]
		if ls == nil {
			ls = &lease{}
			b.leases[key] = ls
		}
		if res, ok := ls.take(rate, now); ok {
			if ls.wantsAhead(rate, now) {
				f := &refill{done: make(chan struct{})}
				ls.refill = f
				ls.trips++
				go b.prefetch(key, rate, ls, ls.nextSize(rate, now, b.interval), now, f)
			}
			b.mu.Unlock()
			return res, nil
		}
		if f := ls.refill; f != nil {
			b.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return RateResult{}, fmt.Errorf("taking request for %q: %w: %w", key, ErrUnavailable, ctx.Err())
			}
			if f.err != nil && !f.retry {
				return RateResult{}, f.err
			}
			continue
		}
		size := ls.nextSize(rate, now, b.interval)
		var f *refill
		if size > 1 {
			// The key's next requests wait for this block rather than
			// each asking Redis. A block of one is this request's alone:
			// it goes alongside any other, so a quiet key, or one whose
			// limit is too small for blocks, is as concurrent as ever.
			f = &refill{done: make(chan struct{})}
			ls.refill = f
		}
		ls.trips++
		b.sweep(now)
		b.mu.Unlock()
		return b.fill(ctx, key, rate, ls, size, now, f)
	}
}

// wantsAhead reports whether the next block should be asked for now: the
// key is busy (its blocks are more than one), half the block in hand is
// spent, and no trip for it is in flight or done.
func (ls *lease) wantsAhead(rate Rate, now time.Time) bool {
	return ls.size > 1 && ls.refill == nil && !ls.hasAhead && !ls.full &&
		ls.rate == rate && now.Before(ls.deadline) && ls.last-ls.next+1 <= ls.size/2
}

// holds reports whether the lease has slots of rate's window to hand out
// at now.
func (ls *lease) holds(rate Rate, now time.Time) bool {
	return ls.next <= ls.last && ls.rate == rate && now.Before(ls.deadline)
}

// take hands out the next slot of the block, or refuses while the window
// is known to be full; false when only Redis can answer.
func (ls *lease) take(rate Rate, now time.Time) (RateResult, bool) {
	if ls.rate != rate {
		return RateResult{}, false
	}
	if ls.next > ls.last && ls.hasAhead {
		ls.next, ls.last, ls.hasAhead = ls.aheadFirst, ls.aheadLast, false
	}
	switch {
	case ls.next <= ls.last && now.Before(ls.deadline):
		slot := ls.next
		ls.next++
		return RateResult{Limit: rate.Requests, Remaining: rate.Requests - slot, Reset: ls.reset}, true
	case ls.full && now.Before(ls.reset):
		return RateResult{Limit: rate.Requests, Reset: ls.reset, Reached: true}, true
	}
	return RateResult{}, false
}

// nextSize is the size of the block to ask for at now.
func (ls *lease) nextSize(rate Rate, now time.Time, interval time.Duration) int64 {
	most := min(max(rate.Requests/blockFraction, 1), maxBlock)
	switch {
	case ls.rate != rate:
		return 1
	case ls.busy > 1 && now.After(ls.busyEnd) && now.Sub(ls.busyAt) < 2*interval:
		// The window of the key's last big block is surely over, and the
		// key was busy a moment ago: the new window's first block is that
		// big. Doubling from one made every request of a busy key wait on
		// some ten trips in a row at each window's start (tens of
		// milliseconds of p99 at 7,000 requests a second).
		return min(ls.busy, most)
	case ls.size == 0 || !now.Before(ls.deadline):
		// Past the deadline the last block's window may not have ended
		// (it ends within a second of its Reset), and a block would
		// outlast it; if it has, a new window starts from one unless
		// the key was busy (above).
		return 1
	case now.Sub(ls.asked) < interval:
		return min(ls.size*2, most)
	default:
		return min(max(ls.size/2, 1), most)
	}
}

// fill takes a block of size for key from Redis, answers its own request
// from it and installs the rest, then wakes the requests waiting on f (nil
// for a block of one, which nobody waits on). A block of one leaves nothing
// to install: it only tells the lease about the window, and not when the
// lease holds a block another fill installed meanwhile.
func (b *blocks) fill(ctx context.Context, key string, rate Rate, ls *lease, size int64, asked time.Time, f *refill) (RateResult, error) {
	c, ttl, answered, err := b.trip(ctx, key, rate, size)

	b.mu.Lock()
	defer b.mu.Unlock()
	ls.trips--
	if f != nil {
		ls.refill = nil
		defer close(f.done)
	}
	if err != nil {
		err = fmt.Errorf("taking request for %q: %w: %w", key, ErrUnavailable, err)
		if f != nil {
			f.err, f.retry = err, ctx.Err() != nil
		}
		return RateResult{}, err
	}

	blk := readBlock(c, rate, size, ttl, asked, answered)
	res := RateResult{Limit: rate.Requests, Reset: blk.reset, Reached: c.Reached}
	// This request takes the block's first slot.
	first, last := blk.first, blk.last
	if !c.Reached {
		res.Remaining = rate.Requests - first
	}
	deadline, reset := blk.deadline, blk.reset
	if f == nil && ls.holds(rate, answered) {
		return res, nil
	}
	ls.rate, ls.size, ls.asked = rate, size, asked
	ls.deadline, ls.reset, ls.full = deadline, reset, c.Reached || c.Remaining == 0
	ls.noteBusy(size, asked, blk)
	ls.next, ls.last, ls.hasAhead = first+1, last, false
	if c.Reached || !deadline.After(answered) {
		// The window is spent, or ends before anyone else could spend the
		// block: the key's next block is a single request again.
		ls.size = 0
	}
	return res, nil
}

// noteBusy records a block of more than one slots asked for at asked.
func (ls *lease) noteBusy(size int64, asked time.Time, blk block) {
	if size > 1 {
		ls.busy, ls.busyAt, ls.busyEnd = size, asked, blk.end
	}
}

// trip takes a block of size for key from Redis, bounded by the
// configured timeout, and returns ulule's reply, the window's TTL as the
// script read it and when the reply came.
func (b *blocks) trip(ctx context.Context, key string, rate Rate, size int64) (limiter.Context, time.Duration, time.Time, error) {
	ctx, cancel := b.cfg.bound(ctx)
	defer cancel()
	var ttl time.Duration
	c, err := b.store.Increment(withTTLSink(ctx, &ttl), key, size, limiter.Rate{Limit: rate.Requests, Period: rate.Period})
	return c, ttl, time.Now(), err
}

// block is what ulule's reply to a block says.
type block struct {
	// first … last are the block's slots; none (first > last) when the
	// block crossed the limit.
	first, last int64
	// deadline is how long the block may be spent, reset the window's end
	// as ulule reports it, and end the latest the window can end.
	deadline, reset, end time.Time
}

// readBlock reads ulule's reply c to a block of size asked for at asked
// and answered at answered, ttl the window's TTL the reply held (0 when
// the store does not report it).
func readBlock(c limiter.Context, rate Rate, size int64, ttl time.Duration, asked, answered time.Time) block {
	reset := time.Unix(c.Reset, 0)
	// Redis read the TTL no sooner than asked, so the window ends no
	// sooner than asked plus the TTL. Without the TTL (a store that does
	// not report it), ulule's Reset, the reply's reading time plus the TTL
	// rounded down to the second, less the trip. The deadline is kept on
	// the monotonic clock.
	// Read no later than answered, the TTL ends the window by answered
	// plus the TTL (and a millisecond of its rounding); Reset, by a second
	// after Reset.
	deadline, end := asked.Add(ttl-resetMargin), answered.Add(ttl+resetMargin)
	if ttl <= 0 {
		deadline = answered.Add(reset.Sub(answered) - answered.Sub(asked) - resetMargin)
		end = reset.Add(time.Second + resetMargin)
	}
	// Reached: the block crossed the limit by an unknown part, all refused.
	b := block{first: 1, last: 0, deadline: deadline, reset: reset, end: end}
	if !c.Reached {
		count := rate.Requests - c.Remaining
		b.first, b.last = max(count-size+1, 1), count
	}
	return b
}

// prefetch takes key's next block of size from Redis while the one in hand
// is still being spent, and keeps it for when that one runs out (or makes
// it the one in hand when that one has run out or its window has ended),
// then wakes the requests waiting on f: those that found the block in hand
// spent before the trip came back. A failed trip keeps nothing and fails
// those waiters, as a refill would.
func (b *blocks) prefetch(key string, rate Rate, ls *lease, size int64, asked time.Time, f *refill) {
	c, ttl, answered, err := b.trip(context.Background(), key, rate, size)

	b.mu.Lock()
	defer b.mu.Unlock()
	ls.trips--
	ls.refill = nil
	defer close(f.done)
	if err != nil {
		f.err = fmt.Errorf("taking request for %q: %w: %w", key, ErrUnavailable, err)
		return
	}
	blk := readBlock(c, rate, size, ttl, asked, answered)
	ls.size, ls.asked = size, asked
	ls.noteBusy(size, asked, blk)
	if c.Reached {
		// The block crossed the limit: none of it is used, and once the
		// block in hand is spent the key is refused until reset.
		ls.full, ls.size = true, 0
		return
	}
	// Within a window the counter only grows, and a new window starts it
	// again from the block: a block after the one in hand is of its
	// window. (A new window whose counter other edges took past the block
	// in hand is taken for the old one; its slots are then lost at the old
	// window's deadline, never used late.)
	if ls.rate == rate && blk.first > ls.last && ls.next <= ls.last && answered.Before(ls.deadline) {
		ls.aheadFirst, ls.aheadLast, ls.hasAhead = blk.first, blk.last, true
		ls.full = c.Remaining == 0
		return
	}
	ls.rate, ls.deadline, ls.reset = rate, blk.deadline, blk.reset
	ls.next, ls.last, ls.hasAhead = blk.first, blk.last, false
	ls.full = c.Remaining == 0
	if !blk.deadline.After(answered) {
		ls.size = 0
	}
}

// sweep drops, at most once per sweepEvery, the leases of ended windows
// and those of keys idle for that long with nothing in hand. b.mu is held.
func (b *blocks) sweep(now time.Time) {
	if now.Sub(b.swept) < sweepEvery {
		return
	}
	b.swept = now
	for key, ls := range b.leases {
		if ls.trips > 0 {
			continue
		}
		idle := ls.next > ls.last && !ls.hasAhead && now.Sub(ls.asked) >= sweepEvery
		if !now.Before(ls.reset) || idle {
			delete(b.leases, key)
		}
	}
}
