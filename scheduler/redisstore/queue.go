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

// Queue is one job queue over the store's records: the main queue that
// Create fills, or a named one, such as the queue of jobs a scheduler placed
// on one worker, which only that worker claims from. All share the lease
// rules of scheduler.Queue.
type Queue struct {
	s    *Store
	name string
	// stream, entries, leases and tokens are the queue's keys: the stream
	// read through the consumer group, id → current entry, lease
	// deadlines, id → lease token.
	stream, entries, leases, tokens string
}

var _ scheduler.Queue = (*Queue)(nil)

func (s *Store) newQueue(name string) *Queue {
	suffix := ""
	if name != "" {
		suffix = ":" + name
	}
	return &Queue{s: s, name: name,
		stream: s.key("queue" + suffix), entries: s.key("entries" + suffix), leases: s.key("leases" + suffix), tokens: s.key("tokens" + suffix)}
}

// Queue returns the named queue, creating its stream and consumer group
// when missing. Jobs enter it only through Enqueue. A name is a worker's or
// a scheduler's choice of [A-Za-z0-9_.-]; "" is the main queue.
func (s *Store) Queue(ctx context.Context, name string) (*Queue, error) {
	if err := s.open(); err != nil {
		return nil, err
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return nil, fmt.Errorf("opening queue %q: names are letters, digits, '_', '.' and '-'", name)
		}
	}
	q := s.newQueue(name)
	if err := q.ensureGroup(ctx); err != nil {
		return nil, err
	}
	return q, nil
}

// Name is the queue's name, "" for the main queue.
func (q *Queue) Name() string { return q.name }

func (q *Queue) ensureGroup(ctx context.Context) error {
	err := q.s.rdb.XGroupCreateMkStream(ctx, q.stream, q.s.cfg.ConsumerGroup, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("creating consumer group %q on %s: %w", q.s.cfg.ConsumerGroup, q.stream, err)
	}
	return nil
}

// Enqueue appends job id to the queue. The job must be stored (Claim drops
// entries of missing jobs). A job already in this queue is replaced: handed
// out once more, and a lease on it is lost.
func (q *Queue) Enqueue(ctx context.Context, id string) error {
	if err := q.s.open(); err != nil {
		return err
	}
	if err := enqueueScript.Run(ctx, q.s.rdb, []string{q.stream, q.entries, q.leases, q.tokens}, id, q.s.cfg.ConsumerGroup).Err(); err != nil {
		return q.s.fail(fmt.Sprintf("enqueueing job %q on queue %q", id, q.name), err)
	}
	return nil
}

// Claim implements scheduler.Queue on the main queue.
func (s *Store) Claim(ctx context.Context, consumer string, ttl time.Duration) (*scheduler.Lease, error) {
	return s.main.Claim(ctx, consumer, ttl)
}

// TryClaim is Queue.TryClaim on the main queue.
func (s *Store) TryClaim(ctx context.Context, consumer string, ttl time.Duration) (*scheduler.Lease, error) {
	return s.main.TryClaim(ctx, consumer, ttl)
}

// Extend implements scheduler.Queue on the main queue.
func (s *Store) Extend(ctx context.Context, lease *scheduler.Lease, ttl time.Duration) error {
	return s.main.Extend(ctx, lease, ttl)
}

// Ack implements scheduler.Queue on the main queue.
func (s *Store) Ack(ctx context.Context, lease *scheduler.Lease) error { return s.main.Ack(ctx, lease) }

// Requeue implements scheduler.Queue on the main queue.
func (s *Store) Requeue(ctx context.Context, lease *scheduler.Lease) error {
	return s.main.Requeue(ctx, lease)
}

// Stats implements scheduler.Queue on the main queue.
func (s *Store) Stats(ctx context.Context) (scheduler.QueueStats, error) { return s.main.Stats(ctx) }

// Claim hands out the oldest expired lease, else the next job in FIFO order.
// The choice and the lease record happen in one script, so a consumer that
// dies right after leaves no job held without a deadline. Between attempts
// it waits on the stream with a blocking XREAD, woken by the next XADD or by
// the next lease deadline, whichever comes first.
func (q *Queue) Claim(ctx context.Context, consumer string, ttl time.Duration) (*scheduler.Lease, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		lease, next, err := q.claimOnce(ctx, consumer, ttl)
		if err != nil || lease != nil {
			return lease, err
		}
		if err := q.waitForEntry(ctx, next.lastID, next.block); err != nil {
			return nil, err
		}
	}
}

// TryClaim is Claim without the wait: nil, nil when nothing is claimable
// now. A consumer draining a backlog uses it to learn that the backlog is
// drained, which a Claim bounded by a short deadline cannot tell safely:
// the deadline may cut off the answer of a claim Redis already made, and
// that job would sit leased to nobody until its lease ran out.
func (q *Queue) TryClaim(ctx context.Context, consumer string, ttl time.Duration) (*scheduler.Lease, error) {
	lease, _, err := q.claimOnce(ctx, consumer, ttl)
	return lease, err
}

// claimWait is what a claim that found nothing waits for: an entry after
// lastID, for at most block.
type claimWait struct {
	lastID string
	block  time.Duration
}

// claimOnce runs the claim script once.
func (q *Queue) claimOnce(ctx context.Context, consumer string, ttl time.Duration) (*scheduler.Lease, claimWait, error) {
	s := q.s
	if consumer == "" || ttl < time.Millisecond {
		return nil, claimWait{}, fmt.Errorf("claiming job: need a consumer name and a ttl of at least 1ms, got %q and %s", consumer, ttl)
	}
	keys := []string{q.stream, q.entries, q.leases, q.tokens}
	for {
		if err := s.open(); err != nil {
			return nil, claimWait{}, err
		}
		token := rand.Text()
		res, err := claimScript.Run(ctx, s.rdb, keys,
			s.cfg.ConsumerGroup, consumer, ttl.Milliseconds(), token, s.key("job:")).Slice()
		if err != nil && strings.HasPrefix(err.Error(), "NOGROUP") {
			// The stream vanished (a flushed or non-persistent Redis);
			// recreate it rather than fail every claim from now on.
			if err = q.ensureGroup(ctx); err == nil {
				continue
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, claimWait{}, ctx.Err()
			}
			return nil, claimWait{}, s.fail("claiming job", err)
		}
		if id, _ := res[0].(string); id != "" {
			deadline, _ := res[2].(int64)
			return &scheduler.Lease{
				JobID:    id,
				Token:    token,
				Consumer: consumer,
				Expires:  time.UnixMilli(deadline).UTC(),
			}, claimWait{}, nil
		}
		lastID, _ := res[1].(string)
		wake, _ := res[2].(int64)
		now, _ := res[3].(int64)
		block := s.poll
		if wake >= 0 {
			block = min(block, max(time.Duration(wake-now)*time.Millisecond, time.Millisecond))
		}
		return nil, claimWait{lastID: lastID, block: block}, nil
	}
}

// waitForEntry blocks until an entry newer than lastID exists, block
// passes, ctx ends or the store closes. The read runs in its own goroutine
// because the client cannot abort a blocking read; ctx and Close take
// effect at once, and the abandoned read ends within block.
func (q *Queue) waitForEntry(ctx context.Context, lastID string, block time.Duration) error {
	s := q.s
	read := make(chan error, 1)
	go func() {
		err := s.rdb.XRead(ctx, &redis.XReadArgs{
			Streams: []string{q.stream, lastID},
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
func (q *Queue) Extend(ctx context.Context, lease *scheduler.Lease, ttl time.Duration) error {
	s := q.s
	if err := s.open(); err != nil {
		return err
	}
	if ttl < time.Millisecond {
		return fmt.Errorf("extending lease of job %q: ttl %s is under 1ms", lease.JobID, ttl)
	}
	deadline, err := extendScript.Run(ctx, s.rdb, []string{q.leases, q.tokens},
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
func (q *Queue) Ack(ctx context.Context, lease *scheduler.Lease) error {
	return q.release(ctx, lease, "ack")
}

// Requeue puts the job back at the tail of the queue under a new entry. The
// same lease rules as Ack apply.
func (q *Queue) Requeue(ctx context.Context, lease *scheduler.Lease) error {
	return q.release(ctx, lease, "requeue")
}

func (q *Queue) release(ctx context.Context, lease *scheduler.Lease, how string) error {
	s := q.s
	if err := s.open(); err != nil {
		return err
	}
	keys := []string{q.stream, q.entries, q.leases, q.tokens}
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
func (q *Queue) Stats(ctx context.Context) (scheduler.QueueStats, error) {
	s := q.s
	if err := s.open(); err != nil {
		return scheduler.QueueStats{}, err
	}
	res, err := statsScript.Run(ctx, s.rdb, []string{q.stream, q.leases}, s.cfg.ConsumerGroup).Int64Slice()
	if err != nil {
		return scheduler.QueueStats{}, s.fail("reading queue stats", err)
	}
	return scheduler.QueueStats{
		Depth:     res[0],
		Leased:    res[1],
		OldestAge: time.Duration(res[2]) * time.Millisecond,
	}, nil
}
