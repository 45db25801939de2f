package limits

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ulule/limiter/v3"
)

func TestBlocksSweep(t *testing.T) {
	now := time.Now()
	rate := Rate{Requests: 1000, Period: time.Minute}
	tests := []struct {
		name     string
		lease    lease
		wantKept bool
	}{
		{name: "a block in hand stays", lease: lease{rate: rate, next: 5, last: 9, deadline: now.Add(time.Second), reset: now.Add(time.Second), asked: now.Add(-time.Hour)}, wantKept: true},
		{name: "a full window stays until it ends", lease: lease{rate: rate, next: 10, last: 9, full: true, reset: now.Add(time.Second), asked: now.Add(-time.Second)}, wantKept: true},
		{name: "a key asked for lately stays", lease: lease{rate: rate, next: 10, last: 9, reset: now.Add(time.Second), asked: now.Add(-time.Second)}, wantKept: true},
		{name: "a trip in flight keeps its lease", lease: lease{trips: 1, reset: now.Add(-time.Hour), asked: now.Add(-time.Hour)}, wantKept: true},
		{name: "an ended window goes", lease: lease{rate: rate, next: 5, last: 9, reset: now.Add(-time.Millisecond), asked: now.Add(-time.Second)}},
		{name: "an idle key with nothing in hand goes", lease: lease{rate: rate, next: 10, last: 9, reset: now.Add(time.Hour), asked: now.Add(-sweepEvery)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBlocks(nil, redisConfig{})
			ls := tt.lease
			b.leases["k"] = &ls
			b.sweep(now)
			if _, kept := b.leases["k"]; kept != tt.wantKept {
				t.Fatalf("kept %v, want %v", kept, tt.wantKept)
			}
			// The next sweep waits sweepEvery.
			b.leases["k2"] = &lease{}
			b.sweep(now.Add(sweepEvery - time.Millisecond))
			if _, kept := b.leases["k2"]; !kept {
				t.Fatal("swept again before sweepEvery")
			}
		})
	}
}

// replyStore answers Increment with a canned ulule reply, as its Redis
// store would, and records what it was asked. It stands in for Redis only
// to reach replies a real window gives at moments a test cannot choose.
type replyStore struct {
	reply limiter.Context
	key   string
	count int64
}

func (s *replyStore) Increment(_ context.Context, key string, count int64, _ limiter.Rate) (limiter.Context, error) {
	s.key, s.count = key, count
	return s.reply, nil
}

var errNotIncrement = errors.New("only Increment is used")

func (s *replyStore) Get(context.Context, string, limiter.Rate) (limiter.Context, error) {
	return limiter.Context{}, errNotIncrement
}

func (s *replyStore) Peek(context.Context, string, limiter.Rate) (limiter.Context, error) {
	return limiter.Context{}, errNotIncrement
}

func (s *replyStore) Reset(context.Context, string, limiter.Rate) (limiter.Context, error) {
	return limiter.Context{}, errNotIncrement
}

// TestBlocksFill reads ulule's reply to a block of 8: which slots are this
// edge's, whether the window is full, and until when the block is trusted.
func TestBlocksFill(t *testing.T) {
	const limit, size = 1000, 8
	rate := Rate{Requests: limit, Period: time.Minute}
	now := time.Now()
	later := now.Add(30 * time.Second).Unix()
	tests := []struct {
		name string
		// asked is how long before the reply the trip began.
		asked time.Duration
		reply limiter.Context
		want  RateResult
		// wantSlots are the slots left in hand, counted down from Remaining.
		wantSlots []int64
		wantFull  bool
		// wantSize is the lease's size after the block: 0 when the next
		// block is a single request again.
		wantSize int64
	}{
		{
			name:      "a block under the limit",
			reply:     limiter.Context{Limit: limit, Remaining: 900, Reset: later},
			want:      RateResult{Limit: limit, Remaining: 907, Reset: time.Unix(later, 0)},
			wantSlots: []int64{906, 905, 904, 903, 902, 901, 900},
			wantSize:  size,
		},
		{
			name:      "a block that fills the window",
			reply:     limiter.Context{Limit: limit, Remaining: 0, Reset: later},
			want:      RateResult{Limit: limit, Remaining: 7, Reset: time.Unix(later, 0)},
			wantSlots: []int64{6, 5, 4, 3, 2, 1, 0},
			wantFull:  true,
			wantSize:  size,
		},
		{
			// Some of its slots may have been under the limit; none is used.
			name:     "a block that crosses the limit",
			reply:    limiter.Context{Limit: limit, Remaining: 0, Reset: later, Reached: true},
			want:     RateResult{Limit: limit, Reset: time.Unix(later, 0), Reached: true},
			wantFull: true,
		},
		{
			// Reset is rounded down: the window may end any time now.
			name:  "a reset that has passed",
			reply: limiter.Context{Limit: limit, Remaining: 900, Reset: now.Unix()},
			want:  RateResult{Limit: limit, Remaining: 907, Reset: time.Unix(now.Unix(), 0)},
		},
		{
			// The window ends no sooner than the reset less the trip.
			name:  "a reset within the trip",
			asked: 2 * time.Second,
			reply: limiter.Context{Limit: limit, Remaining: 900, Reset: now.Add(time.Second).Unix() + 1},
			want:  RateResult{Limit: limit, Remaining: 907, Reset: time.Unix(now.Add(time.Second).Unix()+1, 0)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &replyStore{reply: tt.reply}
			b := newBlocks(store, redisConfig{})
			ls := &lease{trips: 1}
			got, err := b.fill(t.Context(), "pro:acme", rate, ls, size, time.Now().Add(-tt.asked), &refill{done: make(chan struct{})})
			if err != nil {
				t.Fatalf("fill: %v", err)
			}
			if store.key != "pro:acme" || store.count != size {
				t.Fatalf("Increment(%q, %d); want (%q, %d)", store.key, store.count, "pro:acme", size)
			}
			if got != tt.want {
				t.Fatalf("fill = %+v; want %+v", got, tt.want)
			}
			if ls.full != tt.wantFull || ls.size != tt.wantSize {
				t.Fatalf("lease full %v, size %d; want %v, %d", ls.full, ls.size, tt.wantFull, tt.wantSize)
			}
			at := time.Now()
			for _, want := range tt.wantSlots {
				if res, ok := ls.take(rate, at); !ok || res.Reached || res.Remaining != want {
					t.Fatalf("take from the block = %+v, %v; want Remaining %d", res, ok, want)
				}
			}
			res, ok := ls.take(rate, at)
			if wantRefused := tt.wantFull; ok != wantRefused || res.Reached != wantRefused {
				t.Fatalf("take past the block = %+v, %v; want refused here %v", res, ok, wantRefused)
			}
		})
	}
}

// TestBlocksDeadline: a block is trusted until Reset less the trip and
// resetMargin.
func TestBlocksDeadline(t *testing.T) {
	rate := Rate{Requests: 1000, Period: time.Minute}
	reset := time.Now().Add(30 * time.Second).Unix()
	b := newBlocks(&replyStore{reply: limiter.Context{Limit: 1000, Remaining: 900, Reset: reset}}, redisConfig{})
	ls := &lease{trips: 1}
	const trip = 50 * time.Millisecond
	if _, err := b.fill(t.Context(), "pro:acme", rate, ls, 8, time.Now().Add(-trip), nil); err != nil {
		t.Fatalf("fill: %v", err)
	}
	latest := time.Unix(reset, 0).Add(-trip - resetMargin)
	if ls.deadline.After(latest) || ls.deadline.Before(latest.Add(-time.Second)) {
		t.Fatalf("deadline %v; want just before %v", ls.deadline, latest)
	}
	if _, ok := ls.take(rate, ls.deadline.Add(-time.Millisecond)); !ok {
		t.Fatal("block refused before its deadline")
	}
	if _, ok := ls.take(rate, ls.deadline); ok {
		t.Fatal("block used at its deadline")
	}
}

func TestBlocksNextSize(t *testing.T) {
	const interval = 10 * time.Millisecond
	now := time.Now()
	rate := Rate{Requests: 1000, Period: time.Minute} // blocks of at most 20
	window := lease{rate: rate, deadline: now.Add(time.Minute), reset: now.Add(time.Minute)}
	with := func(size int64, asked time.Time) lease {
		ls := window
		ls.size, ls.asked = size, asked
		return ls
	}
	tests := []struct {
		name  string
		lease lease
		rate  Rate
		want  int64
	}{
		{name: "a new key", rate: rate, want: 1},
		{name: "a new rate", lease: with(8, now), rate: Rate{Requests: 1000, Period: time.Hour}, want: 1},
		{name: "after a crossing or a late block", lease: with(0, now), rate: rate, want: 1},
		{name: "spent fast", lease: with(8, now), rate: rate, want: 16},
		{name: "spent fast, at the cap", lease: with(16, now), rate: rate, want: 20},
		{name: "spent slowly", lease: with(8, now.Add(-interval)), rate: rate, want: 4},
		{name: "a limit too small for blocks", lease: with(1, now), rate: Rate{Requests: 49, Period: time.Minute}, want: 1},
		{
			name:  "past the deadline, the window may not have ended",
			lease: lease{rate: rate, size: 8, asked: now, deadline: now.Add(-time.Millisecond), reset: now},
			rate:  rate, want: 1,
		},
		{
			name:  "a new window",
			lease: lease{rate: rate, size: 8, asked: now, deadline: now.Add(-2 * time.Second), reset: now.Add(-time.Second)},
			rate:  rate, want: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.lease.nextSize(tt.rate, now, interval); got != tt.want {
				t.Fatalf("nextSize = %d; want %d", got, tt.want)
			}
		})
	}
}

// gateStore counts like Redis, one window, and holds each Increment until
// the test lets it through.
type gateStore struct {
	replyStore
	mu    sync.Mutex
	count int64
	gate  chan error
	calls atomic.Int32
}

func (s *gateStore) Increment(_ context.Context, _ string, n int64, r limiter.Rate) (limiter.Context, error) {
	s.calls.Add(1)
	if err := <-s.gate; err != nil {
		return limiter.Context{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count += n
	return limiter.Context{Limit: r.Limit, Remaining: max(r.Limit-s.count, 0), Reset: time.Now().Add(time.Minute).Unix(), Reached: s.count > r.Limit}, nil
}

// TestBlocksAhead: once half the block in hand is spent the next is asked
// for, requests go on from the block in hand without waiting for it, and
// only a request that finds the block in hand spent waits; a failed trip
// ahead fails those waiters as a refill would.
func TestBlocksAhead(t *testing.T) {
	rate := Rate{Requests: 1000, Period: time.Minute}
	store := &gateStore{gate: make(chan error, 8)}
	b := newBlocks(store, redisConfig{})
	b.interval = time.Hour // every block doubles
	takeWant := func(want int64) {
		t.Helper()
		res, err := b.take(t.Context(), "k", rate)
		if err != nil || res.Reached || res.Remaining != want {
			t.Fatalf("take = %+v, %v; want Remaining %d", res, err, want)
		}
	}
	store.gate <- nil
	store.gate <- nil
	takeWant(999) // a block of 1
	takeWant(998) // a block of 2: slots 2, 3
	takeWant(997) // slot 3, from the block; the next block is asked for
	waitCalls(t, store, 3)

	// The block ahead is held at the gate; a request that finds the
	// block in hand spent waits for it.
	done := make(chan RateResult, 1)
	go func() {
		res, _ := b.take(context.Background(), "k", rate)
		done <- res
	}()
	select {
	case res := <-done:
		t.Fatalf("take answered %+v before the block ahead came", res)
	case <-time.After(50 * time.Millisecond):
	}
	store.gate <- nil
	if res := <-done; res.Remaining != 996 {
		t.Fatalf("take after the block ahead came = %+v; want Remaining 996 (slot 4)", res)
	}
	// Slots 5…7 are in hand; 5 leaves two, half the block: the next is
	// asked for, and fails.
	takeWant(995)
	waitCalls(t, store, 4)
	takeWant(994) // no wait: the block in hand
	takeWant(993)
	errc := make(chan error, 1)
	go func() {
		_, err := b.take(context.Background(), "k", rate)
		errc <- err
	}()
	// Let it find the block spent and wait on the trip ahead; should it
	// come too late, it makes a trip of its own, which the second token
	// lets through, and the test fails instead of hanging.
	time.Sleep(200 * time.Millisecond)
	store.gate <- errors.New("connection refused")
	store.gate <- nil
	if err := <-errc; !errors.Is(err, ErrUnavailable) {
		t.Fatalf("take after a failed trip ahead: %v; want ErrUnavailable", err)
	}
	// The next request asks again.
	if res, err := b.take(t.Context(), "k", rate); err != nil || res.Reached {
		t.Fatalf("take after Redis came back = %+v, %v", res, err)
	}
}

func waitCalls(t *testing.T, s *gateStore, n int32) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.calls.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d trips to the store; want %d", s.calls.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}
