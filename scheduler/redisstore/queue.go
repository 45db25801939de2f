package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/docstrange/mesh/scheduler"
	"github.com/redis/go-redis/v9"
)

// Claim hands out the oldest expired lease, else the next job in FIFO order.
// The choice and the lease record happen in one script, so a consumer that
// dies right after leaves no job held without a deadline. Between attempts
// it waits on the stream with a blocking XREAD, woken by the next XADD or by
// the next lease deadline, whichever comes first.
func (s *Store) Claim(ctx context.Context, consumer string, ttl time.Duration) (*scheduler.Lease, error) {
	if consumer == "" || ttl < time.Millisecond {
		return nil, fmt.Errorf("claiming job: need a consumer name and a ttl of at least 1ms, got %q and %s", consumer, ttl)
	}
	keys := []string{s.key("queue"), s.key("entries"), s.key("leases"), s.key("tokens")}
	for {
		if err := s.open(); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		token := rand.Text()
		res, err := claimScript.Run(ctx, s.rdb, keys,
			s.cfg.ConsumerGroup, consumer, ttl.Milliseconds(), token, s.key("job:")).Slice()
		if err != nil && strings.HasPrefix(err.Error(), "NOGROUP") {
			// The stream vanished (a flushed or non-persistent Redis);
			// recreate it rather than fail every claim from now on.
			if err = s.ensureGroup(ctx); err == nil {
				continue
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, s.fail("claiming job", err)
		}
		if id, _ := res[0].(string); id != "" {
			deadline, _ := res[2].(int64)
			return &scheduler.Lease{
				JobID:    id,
				Token:    token,
				Consumer: consumer,
				Expires:  time.UnixMilli(deadline).UTC(),
			}, nil
		}
		lastID, _ := res[1].(string)
		wake, _ := res[2].(int64)
		now, _ := res[3].(int64)
		block := s.poll
		if wake >= 0 {
			block = min(block, max(time.Duration(wake-now)*time.Millisecond, time.Millisecond))
		}
		if err := s.waitForEntry(ctx, lastID, block); err != nil {
			return nil, err
		}
	}
}

// waitForEntry blocks until an entry newer than lastID exists, block
// passes, ctx ends or the store closes. The read runs in its own goroutine
// because the client cannot abort a blocking read; ctx and Close take
// effect at once, and the abandoned read ends within block.
func (s *Store) waitForEntry(ctx context.Context, lastID string, block time.Duration) error {
	read := make(chan error, 1)
	go func() {
		err := s.rdb.XRead(ctx, &redis.XReadArgs{
			Streams: []string{s.key("queue"), lastID},
			Count:   1,
			Block:   block,
		}).Err()
		read <- err
	}()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return scheduler.ErrClosed
	case err := <-read:
		if err == nil || errors.Is(err, redis.Nil) {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return s.fail("waiting for jobs", err)
	}
}

// Extend renews a lease that is still held and has not expired; past its
// deadline a lease is lost even if nobody reclaimed it yet, since a
// consumer may be about to.
func (s *Store) Extend(ctx context.Context, lease *scheduler.Lease, ttl time.Duration) error {
	if err := s.open(); err != nil {
		return err
	}
	if ttl < time.Millisecond {
		return fmt.Errorf("extending lease of job %q: ttl %s is under 1ms", lease.JobID, ttl)
	}
	deadline, err := extendScript.Run(ctx, s.rdb, []string{s.key("leases"), s.key("tokens")},
		lease.JobID, lease.Token, ttl.Milliseconds()).Int64()
	if err != nil {
		return s.fail(fmt.Sprintf("extending lease of job %q", lease.JobID), err)
	}
	if deadline < 0 {
		return fmt.Errorf("extending lease of job %q: %w", lease.JobID, scheduler.ErrLeaseLost)
	}
	lease.Expires = time.UnixMilli(deadline).UTC()
	return nil
}

// Ack removes the job from the queue for good; the record stays. A lease
// taken over by another consumer gives ErrLeaseLost and changes nothing. A
// lease past its deadline that nobody took over still acknowledges: the
// work is done.
func (s *Store) Ack(ctx context.Context, lease *scheduler.Lease) error {
	return s.release(ctx, lease, "ack")
}

// Requeue puts the job back at the tail of the queue under a new entry. The
// same lease rules as Ack apply.
func (s *Store) Requeue(ctx context.Context, lease *scheduler.Lease) error {
	return s.release(ctx, lease, "requeue")
}

func (s *Store) release(ctx context.Context, lease *scheduler.Lease, how string) error {
	if err := s.open(); err != nil {
		return err
	}
	keys := []string{s.key("queue"), s.key("entries"), s.key("leases"), s.key("tokens")}
	ok, err := releaseScript.Run(ctx, s.rdb, keys, lease.JobID, lease.Token, s.cfg.ConsumerGroup, how).Int64()
	if err != nil {
		return s.fail(fmt.Sprintf("%sing job %q", how, lease.JobID), err)
	}
	if ok == 0 {
		return fmt.Errorf("%sing job %q: %w", how, lease.JobID, scheduler.ErrLeaseLost)
	}
	return nil
}

// Stats counts entries not yet handed out as Depth and held leases, expired
// or not, as Leased. OldestAge comes from the stream id of the oldest
// waiting entry, so a requeued job's wait starts at its Requeue.
func (s *Store) Stats(ctx context.Context) (scheduler.QueueStats, error) {
	if err := s.open(); err != nil {
		return scheduler.QueueStats{}, err
	}
	res, err := statsScript.Run(ctx, s.rdb, []string{s.key("queue"), s.key("leases")}, s.cfg.ConsumerGroup).Int64Slice()
	if err != nil {
		return scheduler.QueueStats{}, s.fail("reading queue stats", err)
	}
	return scheduler.QueueStats{
		Depth:     res[0],
		Leased:    res[1],
		OldestAge: time.Duration(res[2]) * time.Millisecond,
	}, nil
}
