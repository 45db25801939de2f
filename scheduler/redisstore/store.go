// Package redisstore keeps job records and the job queue in Redis: the
// production scheduler.Backend, shared by the edge and every scheduler
// replica.
//
// Layout under Config.Prefix:
//
//	job:{id}        hash: json (the Job), tkey, ikey and dkey (its index
//	                keys; dkey only while it has a dedupe entry)
//	tenant:{t}      sorted set, score 0, members are ids: List, by id
//	idem:{n}:{t}:{k} string: the id created with idempotency key k
//	dedupe:{k}      string: the id of the newest reusable job with
//	                DedupeKey k, expiring at that job's ExpiresAt
//	expires         sorted set, score ExpiresAt in µs: Expired
//	webhooks        sorted set, score WebhookDue in ms: WebhooksDue
//	deadletters     sorted set, score DeadLetteredAt in ms: DeadLetters
//	batch:{id}      string: the Batch, expiring at its ExpiresAt
//	queue           stream with one entry {id} per queued job, read through
//	                the consumer group Config.ConsumerGroup
//	entries         hash id → the job's current stream entry
//	leases          sorted set, score lease deadline in ms: reclaim order
//	tokens          hash id → the token of the current lease
//	queue:{name}, entries:{name}, leases:{name}, tokens:{name}
//	                the same for a named queue (Store.Queue), such as one
//	                worker's placed jobs
//	events:{id}     pub/sub channel carrying the job after each Update
//
// Durability is Redis's: run it with appendonly yes and appendfsync always
// (or everysec, accepting a second of loss) for DESIGN §1's promise that an
// accepted job is never lost.
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docstrange/mesh/scheduler"
	"github.com/redis/go-redis/v9"
)

// Store is the Redis scheduler.Backend. It is safe for concurrent use.
type Store struct {
	rdb   *redis.Client
	cfg   Config
	grace time.Duration
	poll  time.Duration

	// main is the queue Create fills.
	main *Queue

	closed    atomic.Bool
	done      chan struct{} // closed by Close; ends Claim waits and subscriptions
	closeOnce sync.Once
}

// New connects, checks the server answers, and creates the consumer group
// (and the stream) if they do not exist yet.
func New(ctx context.Context, cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("configuring redis store: %w", err)
	}
	s := &Store{
		rdb: redis.NewClient(&redis.Options{
			Addr:     cfg.Addr,
			Username: cfg.Username,
			Password: cfg.Password,
			DB:       cfg.DB,
		}),
		cfg:   cfg,
		grace: time.Duration(cfg.RecordGrace),
		poll:  time.Duration(cfg.ClaimPoll),
		done:  make(chan struct{}),
	}
	s.main = s.newQueue("")
	if err := s.main.ensureGroup(ctx); err != nil {
		_ = s.rdb.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the connections. Blocked Claims and open subscriptions end;
// every later call returns scheduler.ErrClosed. Closing twice is harmless.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.done)
		if err = s.rdb.Close(); err != nil {
			err = fmt.Errorf("closing redis client: %w", err)
		}
	})
	return err
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.open(); err != nil {
		return err
	}
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return s.fail("pinging redis", err)
	}
	return nil
}

// Create stores a queued job and its queue entry in one script. A zero
// Status becomes queued and a zero CreatedAt becomes now; times are kept in
// UTC.
func (s *Store) Create(ctx context.Context, job *scheduler.Job) (*scheduler.Job, error) {
	if err := s.open(); err != nil {
		return nil, err
	}
	if job.ID == "" || job.Tenant == "" {
		return nil, fmt.Errorf("creating job: id and tenant are required")
	}
	j := job.Clone()
	if j.Status == "" {
		j.Status = scheduler.StatusQueued
	}
	if j.CreatedAt.IsZero() {
		j.CreatedAt = time.Now()
	}
	normalize(j)
	data, err := json.Marshal(j)
	if err != nil {
		return nil, fmt.Errorf("creating job %q: encoding: %w", j.ID, err)
	}
	ikey, score, expireAt := "", "", ""
	if j.IdempotencyKey != "" {
		ikey = s.idemKey(j.Tenant, j.IdempotencyKey)
	}
	link := s.dedupeLink(j, time.Now())
	if !j.ExpiresAt.IsZero() {
		score = strconv.FormatInt(j.ExpiresAt.UnixMicro(), 10)
		expireAt = strconv.FormatInt(j.ExpiresAt.Add(s.grace).Unix(), 10)
	}
	keys := []string{s.jobKey(j.ID), ikey, s.tenantKey(j.Tenant), s.key("queue"), s.key("entries"), s.key("expires"), link}
	res, err := createScript.Run(ctx, s.rdb, keys,
		data, j.ID, s.tenantKey(j.Tenant), ikey, score, expireAt, s.key("job:"), dedupeExpireAt(j)).StringSlice()
	if err != nil {
		return nil, s.fail(fmt.Sprintf("creating job %q", j.ID), err)
	}
	switch res[0] {
	case "dup":
		prev, err := decode(res[1])
		if err != nil {
			return nil, fmt.Errorf("creating job %q: %w", j.ID, err)
		}
		return prev, fmt.Errorf("creating job %q: %w", j.ID, scheduler.ErrDuplicate)
	case "exists":
		return nil, fmt.Errorf("creating job %q: %w", j.ID, scheduler.ErrExists)
	}
	return j, nil
}

// Get returns the stored job.
func (s *Store) Get(ctx context.Context, id string) (*scheduler.Job, error) {
	if err := s.open(); err != nil {
		return nil, err
	}
	data, err := s.rdb.HGet(ctx, s.jobKey(id), "json").Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("getting job %q: %w", id, scheduler.ErrNotFound)
	}
	if err != nil {
		return nil, s.fail(fmt.Sprintf("getting job %q", id), err)
	}
	j, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("getting job %q: %w", id, err)
	}
	return j, nil
}

// FindIdempotent returns the tenant's job created with key.
func (s *Store) FindIdempotent(ctx context.Context, tenant, key string) (*scheduler.Job, error) {
	if err := s.open(); err != nil {
		return nil, err
	}
	id, err := s.rdb.Get(ctx, s.idemKey(tenant, key)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("finding idempotency key: %w", scheduler.ErrNotFound)
	}
	if err != nil {
		return nil, s.fail("finding idempotency key", err)
	}
	return s.Get(ctx, id)
}

// List returns the tenant's jobs by id descending, which for xid ids is
// newest first. The cursor is the id of the last job of the previous page.
// A limit outside 1…1000 becomes 50 or 1000.
func (s *Store) List(ctx context.Context, tenant string, cursor string, limit int) (scheduler.ListPage, error) {
	if err := s.open(); err != nil {
		return scheduler.ListPage{}, err
	}
	switch {
	case limit <= 0:
		limit = 50
	case limit > 1000:
		limit = 1000
	}
	bound := "+"
	if cursor != "" {
		bound = "(" + cursor
	}
	res, err := listScript.Run(ctx, s.rdb, []string{s.tenantKey(tenant)}, bound, limit, s.key("job:")).Slice()
	if err != nil {
		return scheduler.ListPage{}, s.fail("listing jobs", err)
	}
	var page scheduler.ListPage
	for _, v := range res[1:] {
		j, err := decode(v.(string))
		if err != nil {
			return scheduler.ListPage{}, fmt.Errorf("listing jobs: %w", err)
		}
		page.Jobs = append(page.Jobs, j)
	}
	if more, _ := res[0].(int64); more == 1 && len(page.Jobs) > 0 {
		page.NextCursor = page.Jobs[len(page.Jobs)-1].ID
	}
	return page, nil
}

// Expired returns up to limit ids whose ExpiresAt is not after t, oldest
// first.
func (s *Store) Expired(ctx context.Context, t time.Time, limit int) ([]string, error) {
	if err := s.open(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	ids, err := s.rdb.ZRangeByScore(ctx, s.key("expires"), &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(t.UnixMicro(), 10), Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, s.fail("finding expired jobs", err)
	}
	return ids, nil
}

// Delete removes the record, its indexes, and its queue entry and lease if
// it still has them.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := s.open(); err != nil {
		return err
	}
	keys := []string{s.jobKey(id), s.key("queue"), s.key("entries"), s.key("leases"), s.key("tokens"), s.key("expires"), s.key("webhooks"), s.key("deadletters")}
	if err := deleteScript.Run(ctx, s.rdb, keys, id, s.cfg.ConsumerGroup).Err(); err != nil {
		return s.fail(fmt.Sprintf("deleting job %q", id), err)
	}
	return nil
}

// WebhooksDue implements scheduler.Store.
func (s *Store) WebhooksDue(ctx context.Context, t time.Time, limit int) ([]string, error) {
	if err := s.open(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 100
	}
	ids, err := webhooksDueScript.Run(ctx, s.rdb, []string{s.key("webhooks")}, t.UnixMilli(), limit, s.key("job:")).StringSlice()
	if err != nil {
		return nil, s.fail("listing due webhooks", err)
	}
	return ids, nil
}

func (s *Store) key(name string) string { return s.cfg.Prefix + name }

func (s *Store) jobKey(id string) string { return s.cfg.Prefix + "job:" + id }

func (s *Store) eventsChannel(id string) string { return s.cfg.Prefix + "events:" + id }

func (s *Store) tenantKey(tenant string) string { return s.cfg.Prefix + "tenant:" + tenant }

// idemKey length-prefixes the tenant so that no tenant and key pair can
// spell another pair's key.
func (s *Store) idemKey(tenant, key string) string {
	return s.cfg.Prefix + "idem:" + strconv.Itoa(len(tenant)) + ":" + tenant + ":" + key
}

// open returns ErrClosed once Close was called.
func (s *Store) open() error {
	if s.closed.Load() {
		return scheduler.ErrClosed
	}
	return nil
}

// fail wraps a Redis error, reporting a client closed under the caller as
// scheduler.ErrClosed.
func (s *Store) fail(doing string, err error) error {
	if s.closed.Load() || errors.Is(err, redis.ErrClosed) {
		err = scheduler.ErrClosed
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// normalize keeps times in UTC without monotonic readings, so records
// compare and encode the same everywhere.
func normalize(j *scheduler.Job) {
	for _, t := range []*time.Time{&j.CreatedAt, &j.StartedAt, &j.FinishedAt, &j.ExpiresAt} {
		if !t.IsZero() {
			*t = t.UTC().Round(0)
		}
	}
}

func decode(data string) (*scheduler.Job, error) {
	var j scheduler.Job
	if err := json.Unmarshal([]byte(data), &j); err != nil {
		return nil, fmt.Errorf("decoding job record: %w", err)
	}
	return &j, nil
}

// Interface guard.
var _ scheduler.Backend = (*Store)(nil)
