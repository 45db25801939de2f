package dispatch_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/xid"

	"github.com/docstrange/mesh/internal/redistest"
	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/blob"
	"github.com/docstrange/mesh/scheduler/dispatch"
	"github.com/docstrange/mesh/scheduler/memstore"
	"github.com/docstrange/mesh/scheduler/placement"
	"github.com/docstrange/mesh/scheduler/redisstore"
	"github.com/docstrange/mesh/scheduler/worker"
)

// Targets of make bench, as ratios to a baseline of the same run.
const (
	// minPlacementRatio: the dispatcher places jobs at no less than this
	// fraction of the rate of a FIFO mover that only claims each job and
	// puts it on a worker queue round-robin (the floor Redis sets), so
	// placement, fairness and bookkeeping cost at most that much.
	minPlacementRatio = 0.5
	// maxOverheadP99Ratio: submission to start on a worker, at p99,
	// through the scheduler is within this many times that of workers
	// claiming straight from the shared Redis queue (no scheduler, the
	// floor Redis sets). Embedded mode is reported beside them; it has no
	// network hop at all, so it is no fair floor for a ratio.
	maxOverheadP99Ratio = 5
)

const (
	benchJobs    = 1000
	benchWorkers = 8
)

func benchStore(b *testing.B, srv *redistest.Server) *redisstore.Store {
	b.Helper()
	s, err := redisstore.New(b.Context(), redisstore.Config{Addr: srv.Addr(), Prefix: "b" + xid.New().String() + ":"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func benchJob(tenant string, i int) *scheduler.Job {
	return &scheduler.Job{ID: "job_" + xid.New().String(), Tenant: tenant, Priority: []int{0, 10, 100}[i%3], Status: scheduler.StatusQueued,
		Options: scheduler.Options{Device: scheduler.DeviceAuto}, CreatedAt: time.Now().UTC()}
}

// fill queues benchJobs tiny jobs from 50 tenants.
func fill(b *testing.B, s scheduler.Store) {
	b.Helper()
	for i := range benchJobs {
		if _, err := s.Create(b.Context(), benchJob(fmt.Sprintf("tenant-%02d", i%50), i)); err != nil {
			b.Fatal(err)
		}
	}
}

// placedOn counts the jobs on the workers' queues.
func placedOn(b *testing.B, s *redisstore.Store, ids []string) int64 {
	b.Helper()
	var n int64
	for _, id := range ids {
		q, err := s.Queue(b.Context(), id)
		if err != nil {
			b.Fatal(err)
		}
		st, err := q.Stats(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		n += st.Depth + st.Leased
	}
	return n
}

func benchWorkerIDs() []string {
	ids := make([]string, benchWorkers)
	for i := range ids {
		ids[i] = fmt.Sprintf("w%d", i)
	}
	return ids
}

// fifoMove is the baseline: claim each queued job and put it on a worker
// queue round-robin, with nothing else.
func fifoMove(b *testing.B, s *redisstore.Store, ids []string) {
	b.Helper()
	qs := make([]*redisstore.Queue, len(ids))
	for i, id := range ids {
		q, err := s.Queue(b.Context(), id)
		if err != nil {
			b.Fatal(err)
		}
		qs[i] = q
	}
	for i := range benchJobs {
		l, err := s.Claim(b.Context(), "fifo", time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		if err := qs[i%len(qs)].Enqueue(b.Context(), l.JobID); err != nil {
			b.Fatal(err)
		}
		if err := s.Ack(b.Context(), l); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlacementThroughput: 1,000 tiny queued jobs from 50 tenants and
// 8 healthy workers with room for all; the leader's dispatcher on a real
// Redis claims, places and dispatches them. Reports jobs placed per second
// for the dispatcher and for the FIFO mover baseline, and their ratio.
func BenchmarkPlacementThroughput(b *testing.B) {
	srv := redistest.Start(b)
	ids := benchWorkerIDs()
	var workers []placement.Worker
	for _, id := range ids {
		workers = append(workers, placement.Worker{ID: id, Device: scheduler.DeviceCPU, Slots: benchJobs, Region: "local"})
	}
	var dispatched, moved time.Duration
	for b.Loop() {
		b.StopTimer()
		s := benchStore(b, srv)
		fill(b, s)
		disc := &discovery{}
		disc.set(workers...)
		d, err := dispatch.New(dispatch.Config{Region: "local"}, s, dispatch.RedisQueues{Store: s}, disc, slog.New(slog.DiscardHandler), nil)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(b.Context())
		done := make(chan struct{})
		b.StartTimer()
		start := time.Now()
		go func() { d.Run(ctx); close(done) }()
		for placedOn(b, s, ids) < benchJobs {
			time.Sleep(2 * time.Millisecond)
		}
		dispatched += time.Since(start)
		b.StopTimer()
		cancel()
		<-done

		base := benchStore(b, srv)
		fill(b, base)
		start = time.Now()
		fifoMove(b, base, ids)
		moved += time.Since(start)
		b.StartTimer()
	}
	rate := float64(benchJobs*b.N) / dispatched.Seconds()
	baseRate := float64(benchJobs*b.N) / moved.Seconds()
	b.ReportMetric(rate, "jobs/s")
	b.ReportMetric(baseRate, "fifo-jobs/s")
	b.ReportMetric(rate/baseRate, "baseline-ratio")
	b.Logf("placement: %.0f jobs/s; FIFO mover %.0f jobs/s; ratio %.2f (target ≥ %.2f)", rate, baseRate, rate/baseRate, minPlacementRatio)
	if rate/baseRate < minPlacementRatio {
		b.Errorf("target missed: the dispatcher places %.0f jobs/s, %.2f× the FIFO mover's %.0f; the target is at least %.2f×", rate, rate/baseRate, baseRate, minPlacementRatio)
	}
}

// noop is a pipeline that does nothing: the benchmark measures scheduling.
type noop struct{}

func (noop) Run(context.Context, *scheduler.Job, func(int, int)) (*scheduler.Document, error) {
	return &scheduler.Document{}, nil
}

// startAgent runs a worker agent with the no-op pipeline until the
// benchmark ends.
func startAgent(b *testing.B, name string, slots int, jobs scheduler.Backend) {
	b.Helper()
	blobs, err := blob.NewLocal(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	a := worker.New(worker.Config{Name: name, Slots: slots, Device: scheduler.DeviceCPU, Region: "local"}, jobs, blobs, noop{}, slog.New(slog.DiscardHandler), nil)
	ctx, cancel := context.WithCancel(b.Context())
	var wg sync.WaitGroup
	wg.Go(func() { a.Run(ctx) })
	b.Cleanup(func() { cancel(); wg.Wait() })
}

// overhead submits jobs at a steady pace and returns, sorted, how long
// each waited from submission to its start on a worker (StartedAt).
func overhead(b *testing.B, s scheduler.Store, n int, every time.Duration) []time.Duration {
	b.Helper()
	ids := make([]string, n)
	for i := range n {
		j, err := s.Create(b.Context(), benchJob("tenant", i))
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = j.ID
		time.Sleep(every)
	}
	out := make([]time.Duration, 0, n)
	deadline := time.Now().Add(time.Minute)
	for _, id := range ids {
		for {
			j, err := s.Get(b.Context(), id)
			if err != nil {
				b.Fatal(err)
			}
			if j.Status == scheduler.StatusSucceeded {
				out = append(out, j.StartedAt.Sub(j.CreatedAt))
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("job %s still %s", id, j.Status)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	slices.Sort(out)
	return out
}

func pct(d []time.Duration, p float64) float64 {
	return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()) / 1000
}

// BenchmarkSchedulingOverhead: jobs submitted at a steady 100/s, from
// submission to the start on a worker, at p50 and p99, in the same run:
// embedded single-node mode (memory store, the dispatch loop in process
// with one static local worker, as make run runs it),
// 8 workers claiming straight from the shared Redis queue, and the
// scheduled path (Redis, the dispatcher placing on 8 workers' own queues,
// an agent per worker).
func BenchmarkSchedulingOverhead(b *testing.B) {
	const jobs, every = 200, 10 * time.Millisecond
	srv := redistest.Start(b)
	var embedded, shared, cluster []time.Duration
	for b.Loop() {
		// The single node as make run runs it: the dispatch loop in
		// process, one static local worker.
		mem, err := memstore.Open(b.Context(), memstore.Config{})
		if err != nil {
			b.Fatal(err)
		}
		local, err := mem.Queue(b.Context(), "local")
		if err != nil {
			b.Fatal(err)
		}
		startAgent(b, "local", benchWorkers*2, scheduler.WithQueue(mem, local))
		md, err := dispatch.New(dispatch.Config{Region: "local"}, mem, dispatch.MemoryQueues{Store: mem},
			dispatch.Static{{ID: "local", Device: scheduler.DeviceCPU, Slots: benchWorkers * 2, Region: "local"}}, slog.New(slog.DiscardHandler), nil)
		if err != nil {
			b.Fatal(err)
		}
		mctx, mcancel := context.WithCancel(b.Context())
		mdone := make(chan struct{})
		go func() { md.Run(mctx); close(mdone) }()
		embedded = append(embedded, overhead(b, mem, jobs, every)...)
		mcancel()
		<-mdone
		mem.Close()

		direct := benchStore(b, srv)
		for i := range benchWorkers {
			startAgent(b, fmt.Sprintf("shared-%d", i), 2, direct)
		}
		shared = append(shared, overhead(b, direct, jobs, every)...)

		s := benchStore(b, srv)
		ids := benchWorkerIDs()
		disc := &discovery{}
		for _, id := range ids {
			q, err := s.Queue(b.Context(), id)
			if err != nil {
				b.Fatal(err)
			}
			startAgent(b, id, 2, scheduler.WithQueue(s, q))
			disc.workers = append(disc.workers, placement.Worker{ID: id, Device: scheduler.DeviceCPU, Slots: 2, Region: "local"})
		}
		d, err := dispatch.New(dispatch.Config{Region: "local"}, s, dispatch.RedisQueues{Store: s}, disc, slog.New(slog.DiscardHandler), nil)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(b.Context())
		done := make(chan struct{})
		go func() { d.Run(ctx); close(done) }()
		cluster = append(cluster, overhead(b, s, jobs, every)...)
		cancel()
		<-done
	}
	slices.Sort(embedded)
	slices.Sort(shared)
	slices.Sort(cluster)
	b.ReportMetric(pct(embedded, 0.5), "embedded-p50-ms")
	b.ReportMetric(pct(embedded, 0.99), "embedded-p99-ms")
	b.ReportMetric(pct(shared, 0.5), "shared-p50-ms")
	b.ReportMetric(pct(shared, 0.99), "shared-p99-ms")
	b.ReportMetric(pct(cluster, 0.5), "scheduled-p50-ms")
	b.ReportMetric(pct(cluster, 0.99), "scheduled-p99-ms")
	ratio := pct(cluster, 0.99) / max(pct(shared, 0.99), 0.001)
	b.ReportMetric(ratio, "p99-ratio")
	b.Logf("submission to start, p50 / p99: embedded %.2f / %.2f ms; shared Redis queue %.2f / %.2f ms; through the scheduler %.2f / %.2f ms; p99 ratio to the shared queue %.1f (target ≤ %d)",
		pct(embedded, 0.5), pct(embedded, 0.99), pct(shared, 0.5), pct(shared, 0.99), pct(cluster, 0.5), pct(cluster, 0.99), ratio, maxOverheadP99Ratio)
	if ratio > maxOverheadP99Ratio {
		b.Errorf("target missed: p99 from submission to start is %.1f ms through the scheduler, %.1f× the shared Redis queue's %.1f ms; the target is at most %d×",
			pct(cluster, 0.99), ratio, pct(shared, 0.99), maxOverheadP99Ratio)
	}
}
