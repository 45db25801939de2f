package redislock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Release requests travel over plain Redis pub/sub, on the channel
// Prefix+"release:"+id, and every Locker holds one PSUBSCRIBE to
// Prefix+"release:*".
//
// Pub/sub fits because a release request is a signal to whoever holds the
// lock now, worth nothing once the waiter has gone. Delivery is at most once,
// and the waiter, the one party that cares, covers a loss by asking again
// every reaskEvery and whenever the lock changes hands. The alternatives keep
// state that has to be cleaned up or configured: a stream would keep requests
// after their waiter gave up, where they could stop a later holder, and would
// need trimming and a read cursor per edge; keyspace notifications need
// notify-keyspace-events set on the server, often off on managed Redis, and
// report key changes rather than requests.
//
// One pattern per Locker, rather than a SUBSCRIBE per held id, keeps
// subscription round trips off the Lock path and makes a lock hear requests
// from the moment it is taken, since the subscription is already up. The cost
// is that every edge hears every request, and requests only happen under
// contention, such as a client resuming while its old request holds the lock.
// The pattern rules out sharded pub/sub; in Redis Cluster a classic PUBLISH
// reaches subscribers on every node.

// Timing of the subscription.
const (
	// pingEvery is how long the subscription may stay silent before it sends
	// a PING; no reply within another pingEvery means the link is dead.
	pingEvery = 3 * time.Second
	// resubscribeMin and resubscribeMax bound the backoff between attempts.
	resubscribeMin = 50 * time.Millisecond
	resubscribeMax = 2 * time.Second
)

// releaseChannel is where release requests for upload id are published.
func (l *Locker) releaseChannel(id string) string {
	return l.cfg.Prefix + "release:" + id
}

// subscriber keeps a Locker's release-request subscription up and passes each
// request to the Locker.
type subscriber struct {
	locker  *Locker
	prefix  string // channel name before the upload id
	pattern string

	cancel   context.CancelFunc // stops run
	tried    chan struct{}      // closed once the first attempt subscribed or failed
	markOnce sync.Once
	failing  bool // a failure was logged and no subscription since; run's goroutine only
}

func newSubscriber(l *Locker) *subscriber {
	prefix := l.releaseChannel("")
	return &subscriber{
		locker:  l,
		prefix:  prefix,
		pattern: escapeGlob(prefix) + "*",
		tried:   make(chan struct{}),
	}
}

// run subscribes until ctx ends, resubscribing with backoff after failures.
// A failure is logged at Warn when a working subscription breaks and at Debug
// while Redis stays down, so an outage writes one warning, not one a second,
// and the recovery one line at Info.
func (s *subscriber) run(ctx context.Context) {
	log := s.locker.log
	fails := 0
	for {
		subscribed, err := s.session(ctx)
		s.markTried()
		if ctx.Err() != nil {
			return
		}
		if subscribed {
			fails = 0
		}
		fails++
		level := slog.LevelDebug
		if fails == 1 {
			level = slog.LevelWarn
		}
		log.Log(ctx, level, "release-request subscription failed; resubscribing", logKeyError, err)
		s.failing = true

		delay := min(resubscribeMin<<min(fails-1, 10), resubscribeMax)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// session holds one subscription until it fails or ctx ends. It reports
// whether the subscription was confirmed.
func (s *subscriber) session(ctx context.Context) (subscribed bool, err error) {
	ps := s.locker.client.PSubscribe(ctx)
	defer ps.Close()
	// Receive does not watch ctx; closing the connection ends it.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()

	cctx, cancel := s.locker.bound(ctx, s.locker.cfg.Timeout)
	err = ps.PSubscribe(cctx, s.pattern)
	cancel()
	if err != nil {
		return false, fmt.Errorf("subscribing to %q: %w", s.pattern, err)
	}
	heard := time.Now()
	for {
		msg, err := ps.ReceiveTimeout(ctx, pingEvery)
		if err != nil {
			if !isTimeout(err) {
				return subscribed, fmt.Errorf("receiving release requests: %w", err)
			}
			if time.Since(heard) >= 2*pingEvery {
				return subscribed, errors.New("receiving release requests: no reply to PING")
			}
			if err := ps.Ping(ctx); err != nil {
				return subscribed, fmt.Errorf("pinging the subscription: %w", err)
			}
			continue
		}
		heard = time.Now()
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "psubscribe" {
				subscribed = true
				s.markTried()
				if s.failing {
					s.failing = false
					s.locker.log.InfoContext(ctx, "release-request subscription restored")
				}
			}
		case *redis.Message:
			if id, ok := strings.CutPrefix(m.Channel, s.prefix); ok {
				s.locker.requestRelease(id)
			}
		}
	}
}

func (s *subscriber) markTried() {
	s.markOnce.Do(func() { close(s.tried) })
}

// isTimeout reports a read deadline passing, which is not a broken link.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// escapeGlob quotes the characters PSUBSCRIBE treats as pattern syntax, so a
// Prefix containing them matches only itself.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
