// Package dispatch is the scheduler's leader loop: it holds the queued jobs
// it claimed from the main queue, asks scheduler/placement each round which
// of them go to which healthy worker allocation, puts each placed job on that
// worker's own queue, and gives back to the main queue whatever sits on the
// queue of a worker that is gone. Workers pull what was placed on them
// (docstrange-worker -queue assigned).
//
// Why pull of placed jobs rather than a push over gRPC: the worker keeps
// the lease protocol it already has (claim, renew, hand back, at-least-once
// with an idempotent result), a placed job is durable in Redis the moment it
// is placed, a scheduler failover loses nothing in flight, and a worker
// needs no listener the scheduler must reach.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/placement"
)

// Defaults of Config.
const (
	DefaultLeaseTTL   = 30 * time.Second
	DefaultMaxPending = 5000
	DefaultRound      = 200 * time.Millisecond
	DefaultDeadAfter  = 30 * time.Second
)

// Config tunes a Dispatcher.
type Config struct {
	// Name is the consumer name on the main queue. Default: "scheduler".
	Name string
	// LeaseTTL is how long the dispatcher holds a queued job without
	// renewing; a dispatcher that dies lets its jobs go after it. Default:
	// 30s.
	LeaseTTL time.Duration
	// MaxPending bounds the jobs held for placement. Default: 5000.
	MaxPending int
	// Round is the longest wait between placement rounds. Default: 200ms.
	Round time.Duration
	// DeadAfter is how long a worker may be missing from discovery before
	// the jobs waiting on its queue go back to the main queue. Default:
	// 30s.
	DeadAfter time.Duration
	// Region is the dispatcher's home region; AllowSpill lets jobs run in
	// another region when home is full.
	Region     string
	AllowSpill bool
	// Scorer names the placement scorer (placement.New). Default:
	// least-loaded.
	Scorer string
}

func (c *Config) setDefaults() error {
	if c.Name == "" {
		c.Name = "scheduler"
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.MaxPending <= 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.Round <= 0 {
		c.Round = DefaultRound
	}
	if c.DeadAfter <= 0 {
		c.DeadAfter = DefaultDeadAfter
	}
	if c.Scorer == "" {
		c.Scorer = placement.LeastLoaded
	}
	return nil
}

// Discovery lists the worker allocations that are healthy now.
type Discovery interface {
	Workers(ctx context.Context) ([]placement.Worker, error)
}

// WorkerQueue is one worker's queue of placed jobs, or the main queue.
type WorkerQueue interface {
	scheduler.Queue
	Enqueue(ctx context.Context, id string) error
	// TryClaim is Claim without the wait: nil, nil when nothing is
	// claimable now.
	TryClaim(ctx context.Context, consumer string, ttl time.Duration) (*scheduler.Lease, error)
}

// Backend is the job store and main queue the dispatcher claims from.
type Backend interface {
	scheduler.Backend
	// TryClaim is Claim without the wait: nil, nil when nothing is
	// claimable now.
	TryClaim(ctx context.Context, consumer string, ttl time.Duration) (*scheduler.Lease, error)
}

// Queues opens queues by name; "" is the main queue.
type Queues interface {
	Queue(ctx context.Context, name string) (WorkerQueue, error)
}

// held is a queued job the dispatcher holds a main-queue lease on.
type held struct {
	lease *scheduler.Lease
	job   placement.Job
	// waiting is the reason last written to the job's record.
	waiting string
}

// Dispatcher runs placement rounds. Run it on the leader only.
type Dispatcher struct {
	cfg    Config
	jobs   Backend
	queues Queues
	disc   Discovery
	placer placement.Placer
	log    *slog.Logger

	mu      sync.Mutex
	pending map[string]*held
	// placed is the tenant of every job placed and not yet seen finished,
	// for the fair shares of the next rounds.
	placed map[string]string
	// inflightLast is the per-tenant count inflight read at inflightAt;
	// placedSince are the tenants of the placements made since.
	inflightLast map[string]int
	inflightAt   time.Time
	placedSince  []string
	// opened are the queues opened so far, by name.
	opened map[string]WorkerQueue
	// seen is when each worker was last in discovery.
	seen map[string]time.Time
	// demand is the last round's, per device class.
	demand map[string]DeviceDemand
	wake   chan struct{}
	space  chan struct{}

	placements, expiries, reclaims *metrics.Counter
	// oldest is when the oldest held job was submitted, in unix ns, 0
	// when none is held; the queue-age gauge reads it.
	oldest atomic.Int64
}

// New builds a Dispatcher; set, when non-nil, receives its metrics.
func New(cfg Config, jobs Backend, queues Queues, disc Discovery, log *slog.Logger, set *metrics.Set) (*Dispatcher, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	scorer, err := placement.New(cfg.Scorer)
	if err != nil {
		return nil, fmt.Errorf("configuring dispatch: %w", err)
	}
	if set == nil {
		set = metrics.NewSet()
	}
	d := &Dispatcher{
		cfg: cfg, jobs: jobs, queues: queues, disc: disc, placer: placement.NewPlacer(scorer), log: log,
		pending: map[string]*held{}, placed: map[string]string{}, seen: map[string]time.Time{}, opened: map[string]WorkerQueue{},
		wake: make(chan struct{}, 1), space: make(chan struct{}, 1),
		placements: set.GetOrCreateCounter("docstrange_scheduler_placements_total"),
		expiries:   set.GetOrCreateCounter("docstrange_scheduler_lease_expiries_total"),
		reclaims:   set.GetOrCreateCounter("docstrange_scheduler_reclaimed_jobs_total"),
	}
	set.NewGauge("docstrange_scheduler_queue_oldest_age_seconds", func() float64 {
		return d.QueueAge(time.Now()).Seconds()
	})
	set.NewGauge("docstrange_scheduler_pending_jobs", func() float64 {
		d.mu.Lock()
		defer d.mu.Unlock()
		return float64(len(d.pending))
	})
	return d, nil
}

// QueueAge is how long the oldest job the dispatcher holds has waited since
// it was submitted, at now; 0 when it holds none.
func (d *Dispatcher) QueueAge(now time.Time) time.Duration {
	if o := d.oldest.Load(); o != 0 {
		return now.Sub(time.Unix(0, o))
	}
	return 0
}

// Run claims, places and reclaims until ctx ends, then hands the jobs it
// holds back to the main queue for the next leader.
func (d *Dispatcher) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { d.claim(ctx) })
	wg.Go(func() { d.renew(ctx) })
	wg.Go(func() { d.refreshInflight(ctx) })
	t := time.NewTicker(d.cfg.Round)
	defer t.Stop()
	for ctx.Err() == nil {
		if err := d.round(ctx); err != nil && ctx.Err() == nil {
			d.log.WarnContext(ctx, "placement round", "error", err)
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-d.wake:
		}
	}
	wg.Wait()
	d.release(context.WithoutCancel(ctx))
}

// claim keeps the pool of held jobs full. It takes everything the main
// queue has before it wakes a round, so a round sees the whole backlog and
// fair shares can favour a tenant whose one job sits behind a flood.
func (d *Dispatcher) claim(ctx context.Context) {
	backoff := 100 * time.Millisecond
	claimed := 0 // since the last wake
	for ctx.Err() == nil {
		d.mu.Lock()
		full := len(d.pending) >= d.cfg.MaxPending
		d.mu.Unlock()
		if full {
			d.kick(&claimed)
			select {
			case <-ctx.Done():
				return
			case <-d.space:
			case <-time.After(d.cfg.Round):
			}
			continue
		}
		// Idle, wait for the next job; catching up, take the next one
		// without waiting, and wake a round once there is none.
		var lease *scheduler.Lease
		var err error
		if claimed > 0 {
			lease, err = d.jobs.TryClaim(ctx, d.cfg.Name, d.cfg.LeaseTTL)
			if err == nil && lease == nil {
				d.kick(&claimed)
				continue
			}
		} else {
			lease, err = d.jobs.Claim(ctx, d.cfg.Name, d.cfg.LeaseTTL)
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, scheduler.ErrClosed) {
				return
			}
			d.log.WarnContext(ctx, "claiming queued jobs", "error", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		j, err := d.jobs.Get(ctx, lease.JobID)
		switch {
		case errors.Is(err, scheduler.ErrNotFound) || err == nil && j.Status.Terminal():
			d.jobs.Ack(context.WithoutCancel(ctx), lease)
			continue
		case err != nil:
			d.jobs.Requeue(context.WithoutCancel(ctx), lease)
			continue
		}
		if j.Attempts > 0 && j.Status == scheduler.StatusRunning {
			// A worker's lease on it ran out without a hand-back: its
			// worker died mid-job. The job runs again (at least once).
			d.expiries.Inc()
		}
		d.mu.Lock()
		d.pending[j.ID] = &held{lease: lease, job: placementJob(j), waiting: j.Waiting}
		d.mu.Unlock()
		claimed++
	}
}

// kick wakes a round if jobs were claimed since the last one.
func (d *Dispatcher) kick(claimed *int) {
	if *claimed == 0 {
		return
	}
	*claimed = 0
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func placementJob(j *scheduler.Job) placement.Job {
	return placement.Job{ID: j.ID, Tenant: j.Tenant, Priority: j.Priority, Device: j.Options.Device, Region: j.Region, EnqueuedAt: j.CreatedAt}
}

// renew extends the held leases; a lease that is lost is dropped (another
// scheduler holds the job now).
func (d *Dispatcher) renew(ctx context.Context) {
	t := time.NewTicker(d.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		d.mu.Lock()
		hs := slices.Collect(maps.Values(d.pending))
		d.mu.Unlock()
		for _, h := range hs {
			err := d.jobs.Extend(ctx, h.lease, d.cfg.LeaseTTL)
			if errors.Is(err, scheduler.ErrLeaseLost) {
				d.mu.Lock()
				delete(d.pending, h.lease.JobID)
				d.mu.Unlock()
			} else if err != nil && ctx.Err() == nil {
				d.log.WarnContext(ctx, "renewing a held job", "job_id", h.lease.JobID, "error", err)
			}
		}
	}
}

// release hands every held job back to the main queue at shutdown.
func (d *Dispatcher) release(ctx context.Context) {
	d.mu.Lock()
	hs := slices.Collect(maps.Values(d.pending))
	d.pending = map[string]*held{}
	d.mu.Unlock()
	for _, h := range hs {
		if err := d.jobs.Requeue(ctx, h.lease); err != nil && !errors.Is(err, scheduler.ErrLeaseLost) {
			d.log.WarnContext(ctx, "handing a job back", "job_id", h.lease.JobID, "error", err)
		}
	}
}
