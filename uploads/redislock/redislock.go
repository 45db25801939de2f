// Package redislock implements tusd's handler.Locker on Redis, so that every
// edge serving one tus upload takes the same lock. It keeps the semantics of
// tusd's memorylocker across processes:
//
//   - Lock takes the key with SET NX PX and a random token; while the key is
//     held by someone else it asks the holder to release it and polls until
//     it gets the key or its context ends, then returns handler.ErrLockTimeout.
//   - A holder renews its lease with a compare-and-PEXPIRE. When the lease is
//     lost, or renewals keep failing until the lease would have run out, the
//     holder's requestUnlock is called so that tusd stops writing.
//   - Unlock deletes the key only while it still holds this lock's token, so a
//     stale holder never removes the lock of the edge that took over.
//   - A holder that crashes stops renewing, and its key expires after TTL.
//
// Release requests travel over Redis pub/sub; see release.go for why.
package redislock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tus/tusd/v2/pkg/handler"
)

var (
	// ErrClosed is returned by Lock once the Locker is closed.
	ErrClosed = errors.New("redislock: locker closed")
	// ErrInvalidConfig wraps every Config value that Validate refuses.
	ErrInvalidConfig = errors.New("redislock: invalid config")
	// ErrNoClient is returned by NewLock of a Locker built over a nil client.
	ErrNoClient = errors.New("redislock: nil redis client")
	// ErrAlreadyLocked is returned by Lock on a lock that is already held:
	// tusd takes a fresh lock from NewLock for every request.
	ErrAlreadyLocked = errors.New("redislock: lock already held")
)

// Defaults filled in by Config.Validate.
const (
	// DefaultPrefix is Config.Prefix's default.
	DefaultPrefix = "tus:lock:"
	// DefaultTTL is Config.TTL's default: long enough to ride out a Redis
	// failover, short enough that a crashed edge's uploads resume soon.
	DefaultTTL = 10 * time.Second
	// DefaultPollEvery is Config.PollEvery's default.
	DefaultPollEvery = 100 * time.Millisecond
	// DefaultTimeout is Config.Timeout's default.
	DefaultTimeout = 500 * time.Millisecond
)

// Log keys.
const (
	logKeyUpload = "upload_id"
	logKeyError  = "error"
)

// Config tunes a Locker. Zero fields take the default their comment states.
type Config struct {
	// Prefix starts every lock key (Prefix+id) and release-request channel
	// (Prefix+"release:"+id). Default "tus:lock:".
	Prefix string `json:"prefix,omitempty"`
	// TTL is the lease: a holder that stops renewing, because it crashed or
	// lost Redis, loses the lock after TTL. At least 1ms. Default 10s.
	TTL time.Duration `json:"ttl,omitempty"`
	// RenewEvery is how often a holder extends its lease back to TTL. It must
	// be below TTL. Default TTL/3.
	RenewEvery time.Duration `json:"renew_every,omitempty"`
	// PollEvery is how often a waiting Lock retries the key. Default 100ms.
	PollEvery time.Duration `json:"poll_every,omitempty"`
	// Timeout bounds each Redis call, so that a dead server fails a Lock
	// within about Timeout instead of after go-redis's retries and redials.
	// A renewal is bounded by the lesser of Timeout and RenewEvery. It cuts
	// a socket read short only on a client with ContextTimeoutEnabled;
	// otherwise the client's ReadTimeout bounds a hung server's reply.
	// Default 500ms.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Logger receives lost leases and subscription failures.
	// Default slog.Default().
	Logger *slog.Logger `json:"-"`
}

// Validate fills in the defaults and refuses negative durations, a TTL under
// a millisecond (PX's unit) and a RenewEvery that is not below TTL.
func (c *Config) Validate() error {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"ttl", c.TTL}, {"renew_every", c.RenewEvery}, {"poll_every", c.PollEvery}, {"timeout", c.Timeout},
	} {
		if f.d < 0 {
			return fmt.Errorf("%w: %s %s is negative", ErrInvalidConfig, f.name, f.d)
		}
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.TTL < time.Millisecond {
		return fmt.Errorf("%w: ttl %s is under 1ms", ErrInvalidConfig, c.TTL)
	}
	if c.RenewEvery == 0 {
		c.RenewEvery = c.TTL / 3
	}
	if c.RenewEvery >= c.TTL {
		return fmt.Errorf("%w: renew_every %s is not below ttl %s", ErrInvalidConfig, c.RenewEvery, c.TTL)
	}
	if c.PollEvery == 0 {
		c.PollEvery = DefaultPollEvery
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Locker hands out Redis-backed tus upload locks. One Locker per edge process
// is enough; it keeps one pub/sub subscription for release requests, started
// by the first Lock.
type Locker struct {
	client redis.UniversalClient
	cfg    Config
	err    error // a refused Config or a nil client, returned by NewLock
	log    *slog.Logger

	mu      sync.Mutex
	closed  bool
	closing chan struct{} // closed by Close; wakes waiting Locks
	sub     *subscriber   // nil until the first Lock
	holders map[string]map[*lock]struct{}
	wg      sync.WaitGroup // renewers, the subscriber, abandoned-token cleanups
}

// New returns a Locker over client. It does no I/O. A Config that Validate
// refuses, or a nil client, does not fall back to defaults: every NewLock
// returns that error.
func New(client redis.UniversalClient, cfg Config) *Locker {
	l := &Locker{client: client, closing: make(chan struct{}), holders: make(map[string]map[*lock]struct{})}
	if err := cfg.Validate(); err != nil {
		l.err = err
	} else if client == nil {
		l.err = ErrNoClient
	}
	l.cfg = cfg
	l.log = cfg.Logger
	if l.log == nil {
		l.log = slog.Default()
	}
	return l
}

// UseIn adds this locker to the passed composer.
func (l *Locker) UseIn(composer *handler.StoreComposer) {
	composer.UseLocker(l)
}

// NewLock returns an unlocked lock for the upload id.
func (l *Locker) NewLock(id string) (handler.Lock, error) {
	if l.err != nil {
		return nil, fmt.Errorf("creating lock for upload %q: %w", id, l.err)
	}
	return &lock{locker: l, id: id, key: l.cfg.Prefix + id}, nil
}

// Close stops the release-request subscription and the renewal of every lock
// this Locker holds, and asks those holders to stop, since their leases will
// now run out. It deletes no key: a holder's own Unlock, which still works
// after Close, releases its lock. Lock returns ErrClosed afterwards.
func (l *Locker) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.closing)
	sub := l.sub
	var held []*lock
	for _, locks := range l.holders {
		for lk := range locks {
			held = append(held, lk)
		}
	}
	l.mu.Unlock()

	if sub != nil {
		sub.cancel()
	}
	for _, lk := range held {
		lk.abandon()
	}
	l.wg.Wait()
	return nil
}

// bound applies the per-call timeout unless ctx already ends sooner.
func (l *Locker) bound(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}

// subscribed starts the release-request subscription on first use and waits
// until its first attempt has either subscribed or failed, so that a lock
// taken afterwards hears the requests published for it.
func (l *Locker) subscribed(ctx context.Context) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	if l.sub == nil {
		l.sub = newSubscriber(l)
		sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		l.sub.cancel = cancel
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			l.sub.run(sctx)
		}()
	}
	tried := l.sub.tried
	l.mu.Unlock()

	select {
	case <-tried:
		return nil
	default:
	}
	select {
	case <-tried:
		return nil
	case <-ctx.Done():
		return handler.ErrLockTimeout
	case <-l.closing:
		return ErrClosed
	}
}

// track registers a lock just taken, so that release requests reach it, and
// counts its renewer. It refuses once the Locker is closed.
func (l *Locker) track(lk *lock) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	if l.holders[lk.id] == nil {
		l.holders[lk.id] = make(map[*lock]struct{})
	}
	l.holders[lk.id][lk] = struct{}{}
	l.wg.Add(1)
	return true
}

// untrack forgets a lock that is being released.
func (l *Locker) untrack(lk *lock) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.holders[lk.id], lk)
	if len(l.holders[lk.id]) == 0 {
		delete(l.holders, lk.id)
	}
}

// requestRelease passes a release request for upload id to every lock this
// Locker holds on it; normally there is at most one.
func (l *Locker) requestRelease(id string) {
	l.mu.Lock()
	locks := make([]*lock, 0, len(l.holders[id]))
	for lk := range l.holders[id] {
		locks = append(locks, lk)
	}
	l.mu.Unlock()
	for _, lk := range locks {
		lk.requestRelease()
	}
}

// dropToken deletes lk's key if it still holds token, in the background: it cleans
// up after a SET whose reply was lost, which may have taken the key anyway.
// After Close it runs inline, since Close no longer waits for new goroutines.
func (l *Locker) dropToken(ctx context.Context, lk *lock, token string) {
	drop := func() {
		cctx, cancel := l.bound(context.WithoutCancel(ctx), l.cfg.Timeout)
		defer cancel()
		if err := releaseScript.Run(cctx, l.client, []string{lk.key}, token).Err(); err != nil {
			l.log.DebugContext(ctx, "dropping an unconfirmed lock token failed; it expires after the TTL",
				logKeyUpload, lk.id, logKeyError, err)
		}
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		drop()
		return
	}
	l.wg.Add(1)
	l.mu.Unlock()
	go func() {
		defer l.wg.Done()
		drop()
	}()
}

// Interface guard.
var _ handler.Locker = (*Locker)(nil)
