package nomad

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	consul "github.com/hashicorp/consul/api"
)

// LeaderKey is the Consul KV key the schedulers' lock lives at.
const LeaderKey = "docstrange/scheduler/leader"

// Leadership timings. A leader that stops hands the lock over at once (it
// releases it). A leader that dies holds it until its session expires:
// SessionTTL, which Consul may stretch to twice that, plus LockDelay. Ten
// seconds is Consul's smallest session TTL; tying the session to the
// scheduler's own Consul check would make takeover after a crash faster.
const (
	SessionTTL = "10s"
	LockDelay  = time.Second
)

// Lead runs lead while this process holds the lock at key, ending lead's
// context when the lock is lost (session expired, Consul unreachable), and
// competes again until ctx ends. name labels the session in Consul.
func Lead(ctx context.Context, client *consul.Client, key, name string, log *slog.Logger, lead func(ctx context.Context)) error {
	if key == "" {
		key = LeaderKey
	}
	lock, err := client.LockOpts(&consul.LockOptions{
		Key: key, SessionName: name, SessionTTL: SessionTTL, LockDelay: LockDelay,
		Value: []byte(name), MonitorRetries: 3, LockWaitTime: 5 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("preparing the leader lock: %w", err)
	}
	backoff := time.Second
	for ctx.Err() == nil {
		lost, err := lock.Lock(ctx.Done())
		if err != nil {
			log.WarnContext(ctx, "acquiring the leader lock", "error", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 10*time.Second)
			continue
		}
		if lost == nil { // ctx ended while waiting
			return nil
		}
		backoff = time.Second
		log.InfoContext(ctx, "leading", "key", key)
		lctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-lost:
			case <-lctx.Done():
			}
			cancel()
		}()
		lead(lctx)
		cancel()
		if err := lock.Unlock(); err != nil && err != consul.ErrLockNotHeld && ctx.Err() == nil {
			log.WarnContext(ctx, "releasing the leader lock", "error", err)
		}
		log.InfoContext(ctx, "no longer leading", "key", key)
	}
	return nil
}
