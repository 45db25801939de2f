package redislock

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tus/tusd/v2/pkg/handler"
)

// reaskEvery is how often a waiter repeats its release request to an
// unchanged holder. Pub/sub delivers at most once, so a holder whose
// subscription was reconnecting misses a request; the repeat reaches it.
// Holders act on the first request only, so repeats cost one small message.
const reaskEvery = time.Second

// lock is one upload's lock as tusd uses it: NewLock, Lock, Unlock.
type lock struct {
	locker *Locker
	id     string
	key    string

	mu      sync.Mutex
	held    bool
	token   string
	release func()             // asks the holder to unlock, at most once
	stop    context.CancelFunc // stops the renewer
	stopped chan struct{}      // closed when the renewer has returned
	ctx     context.Context    // Lock's context without its cancellation
}

// Lock takes the lock, asking the holder to release it and polling while
// another lock, on this edge or another, holds it. It returns
// handler.ErrLockTimeout, unwrapped as tusd's lockers do, once ctx ends
// first, and a wrapped Redis error when Redis fails.
func (lk *lock) Lock(ctx context.Context, requestUnlock func()) error {
	l := lk.locker
	lk.mu.Lock()
	held := lk.held
	lk.mu.Unlock()
	if held {
		return fmt.Errorf("locking upload %q: %w", lk.id, ErrAlreadyLocked)
	}
	if err := l.subscribed(ctx); err != nil {
		return err
	}

	token := rand.Text()
	var holder string
	var asked time.Time
	poll := time.NewTimer(0)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return handler.ErrLockTimeout
		case <-l.closing:
			return ErrClosed
		case <-poll.C:
		}

		sent := time.Now()
		got, err := lk.acquire(ctx, token)
		if err != nil {
			// The SET may have run with its reply lost; take nothing on trust.
			l.dropToken(ctx, lk, token)
			return lk.failed(ctx, "acquiring", err)
		}
		if got == token {
			return lk.hold(ctx, token, sent, requestUnlock)
		}
		if got != holder || time.Since(asked) >= reaskEvery {
			if err := lk.askRelease(ctx, token); err != nil {
				return lk.failed(ctx, "requesting release of", err)
			}
			holder, asked = got, time.Now()
		}
		poll.Reset(l.cfg.PollEvery)
	}
}

// failed maps a Redis error of Lock: one caused by ctx ending is the
// timeout tusd expects.
func (lk *lock) failed(ctx context.Context, doing string, err error) error {
	if ctx.Err() != nil {
		return handler.ErrLockTimeout
	}
	return fmt.Errorf("%s lock on upload %q: %w", doing, lk.id, err)
}

// acquire runs acquireScript and returns the key's token after it.
func (lk *lock) acquire(ctx context.Context, token string) (string, error) {
	l := lk.locker
	cctx, cancel := l.bound(ctx, l.cfg.Timeout)
	defer cancel()
	got, err := acquireScript.Run(cctx, l.client, []string{lk.key}, token, l.cfg.TTL.Milliseconds()).Text()
	if errors.Is(err, redis.Nil) {
		// Unreachable: a failed SET NX means the key exists. Poll again.
		return "", nil
	}
	return got, err
}

// askRelease publishes a release request; the payload, the waiter's token,
// only helps debugging.
func (lk *lock) askRelease(ctx context.Context, token string) error {
	l := lk.locker
	cctx, cancel := l.bound(ctx, l.cfg.Timeout)
	defer cancel()
	return l.client.Publish(cctx, l.releaseChannel(lk.id), token).Err()
}

// hold records the lock as taken at sent and starts its renewer.
func (lk *lock) hold(ctx context.Context, token string, sent time.Time, requestUnlock func()) error {
	l := lk.locker
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	stopped := make(chan struct{})
	release := sync.OnceFunc(func() {
		if requestUnlock != nil {
			// A callback that blocks must not hold up the subscription
			// or the renewer.
			go requestUnlock()
		}
	})
	lk.mu.Lock()
	lk.held, lk.token, lk.release, lk.stop, lk.stopped, lk.ctx = true, token, release, stop, stopped, context.WithoutCancel(ctx)
	lk.mu.Unlock()

	if !l.track(lk) {
		lk.mu.Lock()
		lk.held = false
		lk.mu.Unlock()
		stop()
		l.dropToken(ctx, lk, token)
		return ErrClosed
	}
	go func() {
		defer l.wg.Done()
		lk.renew(rctx, token, sent, stopped)
	}()
	return nil
}

// Unlock releases the lock if this lock still holds it. Unlocking a lock that
// is not held, never was, or was lost to another holder returns nil, as
// memorylocker does; only a failing Redis is an error, and then the key
// expires after TTL.
func (lk *lock) Unlock() error {
	l := lk.locker
	lk.mu.Lock()
	if !lk.held {
		lk.mu.Unlock()
		return nil
	}
	lk.held = false
	stop, stopped, token, ctx := lk.stop, lk.stopped, lk.token, lk.ctx
	lk.mu.Unlock()

	stop()
	<-stopped
	l.untrack(lk)

	cctx, cancel := l.bound(ctx, l.cfg.Timeout)
	defer cancel()
	if err := releaseScript.Run(cctx, l.client, []string{lk.key}, token).Err(); err != nil {
		return fmt.Errorf("releasing lock on upload %q: %w", lk.id, err)
	}
	return nil
}

// requestRelease calls the holder's requestUnlock, once per holding.
func (lk *lock) requestRelease() {
	lk.mu.Lock()
	held, release := lk.held, lk.release
	lk.mu.Unlock()
	if held {
		release()
	}
}

// abandon is Close's part: renewals stop, so the holder must stop too.
func (lk *lock) abandon() {
	lk.mu.Lock()
	held, stop, stopped := lk.held, lk.stop, lk.stopped
	lk.mu.Unlock()
	if !held {
		return
	}
	stop()
	<-stopped
	lk.requestRelease()
}

// renew extends the lease every RenewEvery until ctx ends. It asks the holder
// to unlock when the lease is lost, or when renewals have failed for a whole
// TTL since the last one that succeeded, counted from when that one was sent,
// which is no later than Redis started the lease.
func (lk *lock) renew(ctx context.Context, token string, sent time.Time, stopped chan<- struct{}) {
	defer close(stopped)
	l := lk.locker
	ticker := time.NewTicker(l.cfg.RenewEvery)
	defer ticker.Stop()
	leaseEnd := sent.Add(l.cfg.TTL)
	expiry := time.NewTimer(time.Until(leaseEnd))
	defer expiry.Stop()
	ttl := l.cfg.TTL.Milliseconds()

	for {
		select {
		case <-ctx.Done():
			return
		case <-expiry.C:
			l.log.WarnContext(ctx, "upload lock lease ran out while renewals failed; asking the holder to stop",
				logKeyUpload, lk.id)
			lk.requestRelease()
			return
		case <-ticker.C:
		}

		sent := time.Now()
		// A renewal still pending when the lease ends is worth nothing.
		deadline := sent.Add(min(l.cfg.Timeout, l.cfg.RenewEvery))
		if leaseEnd.Before(deadline) {
			deadline = leaseEnd
		}
		cctx, cancel := context.WithDeadline(ctx, deadline)
		n, err := renewScript.Run(cctx, l.client, []string{lk.key}, token, ttl).Int()
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			l.log.WarnContext(ctx, "renewing upload lock failed; retrying until the lease runs out",
				logKeyUpload, lk.id, logKeyError, err)
		case n == 0:
			l.log.WarnContext(ctx, "upload lock lost; asking the holder to stop", logKeyUpload, lk.id)
			lk.requestRelease()
			return
		default:
			leaseEnd = sent.Add(l.cfg.TTL)
			expiry.Reset(time.Until(leaseEnd))
		}
	}
}
