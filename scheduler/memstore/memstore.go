// Package memstore is the embedded scheduler.Backend of `make run`: every job
// lives in memory and is written through to a bbolt file, so a restart loses
// no accepted job and no finished result. The queue itself is not persisted:
// it is rebuilt from the job states on open, and jobs that were running are
// queued again (their leases died with the process).
package memstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/docstrange/mesh/scheduler"
)

// Buckets: job records, and queue membership (id → enqueue time in unix
// nanoseconds), which is kept apart from the job's status because an
// acknowledged job leaves the queue whatever its status says.
var (
	bucketJobs  = []byte("jobs")
	bucketQueue = []byte("queue")
	// bucketNamed holds the named queues' members: name \x00 id → time.
	bucketNamed = []byte("named_queues")
)

// Config configures the embedded store.
type Config struct {
	// Path is the bbolt file. Empty keeps everything in memory only, which
	// is for tests: a restart then loses every job.
	Path string `json:"path,omitempty"`
}

// Store implements scheduler.Backend.
type Store struct {
	db *bolt.DB

	mu       sync.Mutex
	closed   bool
	jobs     map[string]*scheduler.Job
	byTenant map[string][]string  // ids ascending
	idem     map[string]string    // tenant \x00 key → id
	dedupe   map[string][]string  // DedupeKey → ids ascending of succeeded jobs
	hooks    map[string]time.Time // id → WebhookDue, for jobs with a pending delivery
	dead     map[string]time.Time // id → DeadLetteredAt, for dead-lettered jobs
	batches  map[string]*scheduler.Batch
	q        queue
	named    map[string]*queue // Store.Queue's, by name; never persisted
	subs     map[string]map[chan *scheduler.Job]struct{}
	// wake is closed and replaced whenever a job becomes claimable.
	wake chan struct{}
}

var _ scheduler.Backend = (*Store)(nil)

// Open loads the store from cfg.Path, re-queuing jobs that were running.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	s := &Store{
		jobs:     map[string]*scheduler.Job{},
		byTenant: map[string][]string{},
		idem:     map[string]string{},
		dedupe:   map[string][]string{},
		hooks:    map[string]time.Time{},
		dead:     map[string]time.Time{},
		batches:  map[string]*scheduler.Batch{},
		q:        newQueue(),
		named:    map[string]*queue{},
		subs:     map[string]map[chan *scheduler.Job]struct{}{},
		wake:     make(chan struct{}),
	}
	if cfg.Path == "" {
		return s, nil
	}
	db, err := bolt.Open(cfg.Path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("opening job database %q: %w", cfg.Path, err)
	}
	// Batches exist to share one fsync among concurrent writers; bbolt's
	// default 10ms wait before committing a batch was most of a
	// submission's latency, while an fsync here takes about 0.2ms.
	db.MaxBatchDelay = 2 * time.Millisecond
	s.db = db
	var requeued []*scheduler.Job
	type member struct {
		id string
		at time.Time
	}
	var members []member
	type namedMember struct {
		name string
		member
	}
	var named []namedMember
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketJobs)
		if err != nil {
			return err
		}
		q, err := tx.CreateBucketIfNotExists(bucketQueue)
		if err != nil {
			return err
		}
		if err := s.loadBatches(tx); err != nil {
			return err
		}
		err = b.ForEach(func(k, v []byte) error {
			var j scheduler.Job
			if err := json.Unmarshal(v, &j); err != nil {
				return fmt.Errorf("decoding job %q: %w", k, err)
			}
			if j.Status == scheduler.StatusRunning {
				j.Status = scheduler.StatusQueued
				requeued = append(requeued, &j)
			}
			s.index(&j)
			return nil
		})
		if err != nil {
			return err
		}
		nb, err := tx.CreateBucketIfNotExists(bucketNamed)
		if err != nil {
			return err
		}
		if err := nb.ForEach(func(k, v []byte) error {
			name, id, ok := strings.Cut(string(k), "\x00")
			if _, found := s.jobs[id]; ok && found && len(v) == 8 {
				named = append(named, namedMember{name, member{id, time.Unix(0, int64(binary.BigEndian.Uint64(v)))}})
			}
			return nil
		}); err != nil {
			return err
		}
		if err := q.ForEach(func(k, v []byte) error {
			if _, ok := s.jobs[string(k)]; ok && len(v) == 8 {
				members = append(members, member{string(k), time.Unix(0, int64(binary.BigEndian.Uint64(v)))})
			}
			return nil
		}); err != nil {
			return err
		}
		for _, j := range requeued {
			if err := putJob(tx, j); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("loading jobs: %w", err)
	}
	slices.SortFunc(members, func(a, b member) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return compareStrings(a.id, b.id)
	})
	for _, m := range members {
		s.q.push(m.id, m.at)
	}
	slices.SortFunc(named, func(a, b namedMember) int { return a.at.Compare(b.at) })
	for _, m := range named {
		q, ok := s.named[m.name]
		if !ok {
			nq := newQueue()
			q = &nq
			s.named[m.name] = q
		}
		q.push(m.id, m.at)
	}
	return s, nil
}

func (s *Store) index(j *scheduler.Job) {
	s.jobs[j.ID] = j
	ids := s.byTenant[j.Tenant]
	i, found := slices.BinarySearch(ids, j.ID)
	if !found {
		s.byTenant[j.Tenant] = slices.Insert(ids, i, j.ID)
	}
	if j.IdempotencyKey != "" {
		s.idem[idemKey(j.Tenant, j.IdempotencyKey)] = j.ID
	}
	s.indexDedupe(j)
	s.indexHooks(j)
}

// indexHooks keeps hooks in step with j's pending deliveries, and dead in
// step with its place on the dead-letter list.
func (s *Store) indexHooks(j *scheduler.Job) {
	if due := j.WebhookDue(); !due.IsZero() {
		s.hooks[j.ID] = due
	} else {
		delete(s.hooks, j.ID)
	}
	if !j.DeadLetteredAt.IsZero() {
		s.dead[j.ID] = j.DeadLetteredAt
	} else {
		delete(s.dead, j.ID)
	}
}

// lock takes the mutex unless the store is closed.
func (s *Store) lock() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return scheduler.ErrClosed
	}
	return nil
}

func idemKey(tenant, key string) string { return tenant + "\x00" + key }

func putJob(tx *bolt.Tx, j *scheduler.Job) error {
	v, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketJobs).Put([]byte(j.ID), v)
}

// persist writes the current in-memory version of id (or its absence) and
// its queue membership in a batched transaction, so concurrent writers share
// one fsync. Writing the latest version, not the caller's, keeps the file
// right when two updates of one job race to commit.
func (s *Store) persist(id string) error {
	if s.db == nil {
		return nil
	}
	err := s.db.Batch(func(tx *bolt.Tx) error {
		s.mu.Lock()
		j, ok := s.jobs[id]
		var v []byte
		var err error
		if ok {
			v, err = json.Marshal(j)
		}
		at, queued := s.q.member(id)
		type membership struct {
			key []byte
			at  time.Time
			in  bool
		}
		var named []membership
		for name, q := range s.named {
			nat, in := q.member(id)
			named = append(named, membership{[]byte(name + "\x00" + id), nat, in})
		}
		s.mu.Unlock()
		nb := tx.Bucket(bucketNamed)
		for _, m := range named {
			if !ok || !m.in {
				if err := nb.Delete(m.key); err != nil {
					return err
				}
				continue
			}
			var buf [8]byte
			binary.BigEndian.PutUint64(buf[:], uint64(m.at.UnixNano()))
			if err := nb.Put(m.key, buf[:]); err != nil {
				return err
			}
		}
		if err != nil {
			return err
		}
		if !ok {
			if err := tx.Bucket(bucketQueue).Delete([]byte(id)); err != nil {
				return err
			}
			return tx.Bucket(bucketJobs).Delete([]byte(id))
		}
		if err := tx.Bucket(bucketJobs).Put([]byte(id), v); err != nil {
			return err
		}
		if !queued {
			return tx.Bucket(bucketQueue).Delete([]byte(id))
		}
		var buf [8]byte
		binary.BigEndian.PutUint64(buf[:], uint64(at.UnixNano()))
		return tx.Bucket(bucketQueue).Put([]byte(id), buf[:])
	})
	if err != nil {
		return fmt.Errorf("persisting job %q: %w", id, err)
	}
	return nil
}

// Create implements scheduler.Store.
func (s *Store) Create(ctx context.Context, job *scheduler.Job) (*scheduler.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	j := job.Clone()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, scheduler.ErrClosed
	}
	if _, ok := s.jobs[j.ID]; ok {
		s.mu.Unlock()
		return nil, scheduler.ErrExists
	}
	if j.IdempotencyKey != "" {
		if id, ok := s.idem[idemKey(j.Tenant, j.IdempotencyKey)]; ok {
			prev := s.jobs[id].Clone()
			s.mu.Unlock()
			return prev, scheduler.ErrDuplicate
		}
	}
	s.index(j)
	s.q.pending[j.ID] = time.Now()
	s.mu.Unlock()
	err := s.persist(j.ID)
	s.mu.Lock()
	at := s.q.pending[j.ID]
	delete(s.q.pending, j.ID)
	if err != nil {
		s.unindex(j)
		s.mu.Unlock()
		return nil, err
	}
	// Claimable only once durable: a worker must never run a job that a
	// crash could make the store forget.
	s.q.push(j.ID, at)
	s.broadcastLocked()
	s.mu.Unlock()
	return j.Clone(), nil
}

func (s *Store) unindex(j *scheduler.Job) {
	delete(s.jobs, j.ID)
	ids := s.byTenant[j.Tenant]
	if i, found := slices.BinarySearch(ids, j.ID); found {
		s.byTenant[j.Tenant] = slices.Delete(ids, i, i+1)
	}
	if len(s.byTenant[j.Tenant]) == 0 {
		delete(s.byTenant, j.Tenant)
	}
	if j.IdempotencyKey != "" && s.idem[idemKey(j.Tenant, j.IdempotencyKey)] == j.ID {
		delete(s.idem, idemKey(j.Tenant, j.IdempotencyKey))
	}
	s.unindexDedupe(j)
	delete(s.hooks, j.ID)
	delete(s.dead, j.ID)
}

// Get implements scheduler.Store.
func (s *Store) Get(ctx context.Context, id string) (*scheduler.Job, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return nil, scheduler.ErrNotFound
	}
	return j.Clone(), nil
}

// FindIdempotent implements scheduler.Store.
func (s *Store) FindIdempotent(ctx context.Context, tenant, key string) (*scheduler.Job, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	id, ok := s.idem[idemKey(tenant, key)]
	if !ok {
		return nil, scheduler.ErrNotFound
	}
	return s.jobs[id].Clone(), nil
}

// List implements scheduler.Store.
func (s *Store) List(ctx context.Context, tenant, cursor string, limit int) (scheduler.ListPage, error) {
	if limit <= 0 {
		limit = 20
	}
	if err := s.lock(); err != nil {
		return scheduler.ListPage{}, err
	}
	defer s.mu.Unlock()
	ids := s.byTenant[tenant]
	end := len(ids)
	if cursor != "" {
		end, _ = slices.BinarySearch(ids, cursor)
	}
	var page scheduler.ListPage
	for i := end - 1; i >= 0 && len(page.Jobs) < limit; i-- {
		page.Jobs = append(page.Jobs, s.jobs[ids[i]].Clone())
	}
	if n := len(page.Jobs); n == limit && end-n > 0 {
		page.NextCursor = page.Jobs[n-1].ID
	}
	return page, nil
}

// Update implements scheduler.Store.
func (s *Store) Update(ctx context.Context, id string, fn func(*scheduler.Job) error) (*scheduler.Job, error) {
	return s.update(ctx, id, fn, false)
}

// update is Update; with enqueue the job also goes on the main queue,
// claimable only once its new state is durable (as in Create), and back to
// its old state if that write fails.
func (s *Store) update(ctx context.Context, id string, fn func(*scheduler.Job) error, enqueue bool) (*scheduler.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.lock(); err != nil {
		return nil, err
	}
	cur, ok := s.jobs[id]
	if !ok {
		s.mu.Unlock()
		return nil, scheduler.ErrNotFound
	}
	next := cur.Clone()
	if err := fn(next); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	next.ID, next.Tenant = cur.ID, cur.Tenant
	now := time.Now()
	scheduler.RecordEvents(cur, next, now)
	s.replaceLocked(cur, next)
	if enqueue {
		s.q.pending[id] = now
	}
	s.publishLocked(next)
	s.mu.Unlock()
	err := s.persist(id)
	if enqueue {
		s.mu.Lock()
		at := s.q.pending[id]
		delete(s.q.pending, id)
		if err == nil {
			s.q.push(id, at)
			s.broadcastLocked()
		} else if s.jobs[id] == next {
			s.replaceLocked(next, cur)
		}
		s.mu.Unlock()
	}
	if err != nil {
		return nil, err
	}
	return next.Clone(), nil
}

// replaceLocked puts next in cur's place, indexes included.
func (s *Store) replaceLocked(cur, next *scheduler.Job) {
	s.unindexDedupe(cur)
	s.jobs[next.ID] = next
	s.indexDedupe(next)
	s.indexHooks(next)
}

// Subscribe implements scheduler.Store.
func (s *Store) Subscribe(ctx context.Context, id string) (<-chan *scheduler.Job, error) {
	ch := make(chan *scheduler.Job, 1)
	if err := s.lock(); err != nil {
		return nil, err
	}
	if _, ok := s.jobs[id]; !ok {
		s.mu.Unlock()
		return nil, scheduler.ErrNotFound
	}
	if s.subs[id] == nil {
		s.subs[id] = map[chan *scheduler.Job]struct{}{}
	}
	s.subs[id][ch] = struct{}{}
	s.mu.Unlock()
	go func() {
		<-ctx.Done()
		s.mu.Lock()
		delete(s.subs[id], ch)
		if len(s.subs[id]) == 0 {
			delete(s.subs, id)
		}
		close(ch)
		s.mu.Unlock()
	}()
	return ch, nil
}

// publishLocked hands j to every subscriber, replacing an unread older
// version so a slow reader always sees the latest.
func (s *Store) publishLocked(j *scheduler.Job) {
	for ch := range s.subs[j.ID] {
		select {
		case <-ch:
		default:
		}
		ch <- j.Clone()
	}
}

// Expired implements scheduler.Store.
func (s *Store) Expired(ctx context.Context, t time.Time, limit int) ([]string, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	var all []timedID
	for id, j := range s.jobs {
		if !j.ExpiresAt.IsZero() && !j.ExpiresAt.After(t) {
			all = append(all, timedID{id, j.ExpiresAt})
		}
	}
	s.mu.Unlock()
	return oldestIDs(all, limit), nil
}

// WebhooksDue implements scheduler.Store.
func (s *Store) WebhooksDue(ctx context.Context, t time.Time, limit int) ([]string, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	var all []timedID
	for id, at := range s.hooks {
		if !at.After(t) {
			all = append(all, timedID{id, at})
		}
	}
	s.mu.Unlock()
	return oldestIDs(all, limit), nil
}

// timedID is a job id and the time it is due at.
type timedID struct {
	id string
	at time.Time
}

// oldestIDs returns up to limit ids (all when limit <= 0), earliest first
// and by id among equals, so the order never depends on map iteration.
func oldestIDs(all []timedID, limit int) []string {
	slices.SortFunc(all, func(a, b timedID) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return compareStrings(a.id, b.id)
	})
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	ids := make([]string, len(all))
	for i, e := range all {
		ids[i] = e.id
	}
	return ids
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Delete implements scheduler.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := s.lock(); err != nil {
		return err
	}
	j, ok := s.jobs[id]
	if ok {
		s.unindex(j)
		s.q.remove(id)
		for _, q := range s.named {
			q.remove(id)
		}
	}
	s.mu.Unlock()
	if !ok {
		return nil
	}
	return s.persist(id)
}

// Ping implements scheduler.Store.
func (s *Store) Ping(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return scheduler.ErrClosed
	}
	return nil
}

// Close implements scheduler.Store. Blocked claims return ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.broadcastLocked()
	s.mu.Unlock()
	if s.db != nil {
		return s.db.Close()
	}
	return nil
}
