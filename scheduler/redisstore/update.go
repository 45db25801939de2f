package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/docstrange/mesh/scheduler"
	"github.com/redis/go-redis/v9"
)

// maxUpdateTries bounds the optimistic retries of one Update; reaching it
// takes hundreds of writers on one job at once.
const maxUpdateTries = 1000

// errFn carries fn's error out of the transaction unchanged.
type errFn struct{ err error }

func (e errFn) Error() string { return e.err.Error() }

// Update reads the job under WATCH, applies fn, and writes the result,
// its ExpiresAt index and record TTL, its dedupe entry, and the pub/sub
// event in one MULTI.
// When another writer got in between, it starts over, so fn may run more
// than once and must only change the job it is given.
func (s *Store) Update(ctx context.Context, id string, fn func(*scheduler.Job) error) (*scheduler.Job, error) {
	return s.update(ctx, id, fn, false)
}

// update is Update; with enqueue, the MULTI also puts the job on the main
// queue, so the record and its queue entry change together.
func (s *Store) update(ctx context.Context, id string, fn func(*scheduler.Job) error, enqueue bool) (*scheduler.Job, error) {
	if err := s.open(); err != nil {
		return nil, err
	}
	key := s.jobKey(id)
	for try := 0; ; try++ {
		j, err := s.updateOnce(ctx, key, id, fn, enqueue)
		var fnErr errFn
		switch {
		case err == nil:
			return j, nil
		case errors.As(err, &fnErr):
			return nil, fnErr.err
		case !errors.Is(err, redis.TxFailedErr):
			return nil, err
		case try == maxUpdateTries:
			return nil, fmt.Errorf("updating job %q: gave up after %d conflicting writes", id, try)
		}
		// Jittered backoff spreads the writers that collided.
		backoff := time.Duration(rand.Int64N(int64(min(try+1, 50)) * int64(time.Millisecond)))
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("updating job %q: %w", id, ctx.Err())
		case <-s.done:
			return nil, scheduler.ErrClosed
		case <-time.After(backoff):
		}
	}
}

// updateOnce is one optimistic round. It returns redis.TxFailedErr when
// another writer changed the job after WATCH, and errFn when fn failed.
func (s *Store) updateOnce(ctx context.Context, key, id string, fn func(*scheduler.Job) error, enqueue bool) (*scheduler.Job, error) {
	var out *scheduler.Job
	err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
		vals, err := tx.HMGet(ctx, key, "json", "ikey", "dkey").Result()
		if err != nil {
			return err
		}
		data, ok := vals[0].(string)
		if !ok {
			return scheduler.ErrNotFound
		}
		ikey, _ := vals[1].(string)
		dkey, _ := vals[2].(string)
		j, err := decode(data)
		if err != nil {
			return err
		}
		tenant := j.Tenant
		prev := j.Clone()
		if err := fn(j); err != nil {
			return errFn{err}
		}
		if j.ID != id || j.Tenant != tenant {
			return errors.New("fn must not change the id or the tenant")
		}
		scheduler.RecordEvents(prev, j, time.Now())
		normalize(j)
		link := s.dedupeLink(j, time.Now())
		enc, err := json.Marshal(j)
		if err != nil {
			return fmt.Errorf("encoding: %w", err)
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, key, "json", enc)
			if j.ExpiresAt.IsZero() {
				p.ZRem(ctx, s.key("expires"), id)
				p.Persist(ctx, key)
				if ikey != "" {
					p.Persist(ctx, ikey)
				}
			} else {
				p.ZAdd(ctx, s.key("expires"), redis.Z{Score: float64(j.ExpiresAt.UnixMicro()), Member: id})
				at := j.ExpiresAt.Add(s.grace)
				p.ExpireAt(ctx, key, at)
				if ikey != "" {
					p.ExpireAt(ctx, ikey, at)
				}
			}
			// A script in a MULTI runs with it, so the entry changes
			// with the record or not at all.
			if dkey != "" && dkey != link {
				unlinkDedupeScript.Eval(ctx, p, []string{dkey, key}, id)
			}
			if link != "" {
				linkDedupeScript.Eval(ctx, p, []string{link, key}, id, dedupeExpireAt(j), s.key("job:"))
			}
			if due := j.WebhookDue(); due.IsZero() {
				p.ZRem(ctx, s.key("webhooks"), id)
			} else {
				p.ZAdd(ctx, s.key("webhooks"), redis.Z{Score: float64(due.UnixMilli()), Member: id})
			}
			if j.DeadLetteredAt.IsZero() {
				p.ZRem(ctx, s.key("deadletters"), id)
			} else {
				p.ZAdd(ctx, s.key("deadletters"), redis.Z{Score: float64(j.DeadLetteredAt.UnixMilli()), Member: id})
			}
			if enqueue {
				q := s.main
				enqueueScript.Eval(ctx, p, []string{q.stream, q.entries, q.leases, q.tokens}, id, s.cfg.ConsumerGroup)
			}
			p.Publish(ctx, s.eventsChannel(id), enc)
			return nil
		})
		if err == nil {
			out = j
		}
		return err
	}, key)
	if err != nil && !errors.Is(err, redis.TxFailedErr) && !errors.As(err, new(errFn)) {
		return nil, s.fail(fmt.Sprintf("updating job %q", id), err)
	}
	return out, err
}

// Subscribe relays the job's pub/sub events. It returns once Redis confirmed
// the subscription, so no Update after it returns is missed. The channel
// keeps only the newest undelivered version, and closes when ctx ends or the
// store is closed.
func (s *Store) Subscribe(ctx context.Context, id string) (<-chan *scheduler.Job, error) {
	if err := s.open(); err != nil {
		return nil, err
	}
	ps := s.rdb.Subscribe(ctx, s.eventsChannel(id))
	if _, err := ps.Receive(ctx); err != nil {
		_ = ps.Close()
		return nil, s.fail(fmt.Sprintf("subscribing to job %q", id), err)
	}
	n, err := s.rdb.Exists(ctx, s.jobKey(id)).Result()
	if err != nil {
		_ = ps.Close()
		return nil, s.fail(fmt.Sprintf("subscribing to job %q", id), err)
	}
	if n == 0 {
		_ = ps.Close()
		return nil, fmt.Errorf("subscribing to job %q: %w", id, scheduler.ErrNotFound)
	}
	out := make(chan *scheduler.Job, 1)
	go s.relay(ctx, ps, out)
	return out, nil
}

func (s *Store) relay(ctx context.Context, ps *redis.PubSub, out chan *scheduler.Job) {
	defer close(out)
	defer ps.Close()
	msgs := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.done:
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			j, err := decode(m.Payload)
			if err != nil {
				continue // a foreign publisher on our channel; nothing to relay
			}
			// Replace an unread older version rather than block on a slow
			// reader.
			select {
			case <-out:
			default:
			}
			select {
			case out <- j:
			default:
			}
		}
	}
}
