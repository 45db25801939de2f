package dispatch_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/xid"

	"github.com/docstrange/mesh/internal/redistest"
	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/dispatch"
	"github.com/docstrange/mesh/scheduler/placement"
	"github.com/docstrange/mesh/scheduler/redisstore"
)

// discovery is a Discovery whose workers a test changes.
type discovery struct {
	mu      sync.Mutex
	workers []placement.Worker
}

func (d *discovery) Workers(context.Context) ([]placement.Worker, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.workers), nil
}

func (d *discovery) set(ws ...placement.Worker) {
	d.mu.Lock()
	d.workers = ws
	d.mu.Unlock()
}

func cpu(id string, slots int) placement.Worker {
	return placement.Worker{ID: id, Device: scheduler.DeviceCPU, Slots: slots, Region: "local"}
}

func gpu(id string, slots int) placement.Worker {
	return placement.Worker{ID: id, Device: scheduler.DeviceGPU, Slots: slots, Region: "local"}
}

type env struct {
	t    *testing.T
	s    *redisstore.Store
	disc *discovery
	// d is the dispatcher start ran last.
	d *dispatch.Dispatcher
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := redistest.Start(t)
	s, err := redisstore.New(t.Context(), redisstore.Config{Addr: srv.Addr(), Prefix: "d" + xid.New().String() + ":"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &env{t: t, s: s, disc: &discovery{}}
}

// start runs a dispatcher until the test ends (or stop is called).
func (e *env) start(cfg dispatch.Config) (stop func()) {
	e.t.Helper()
	if cfg.Round == 0 {
		cfg.Round = 20 * time.Millisecond
	}
	cfg.Region = "local"
	d, err := dispatch.New(cfg, e.s, dispatch.RedisQueues{Store: e.s}, e.disc, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.d = d
	ctx, cancel := context.WithCancel(e.t.Context())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	stop = func() { cancel(); <-done }
	e.t.Cleanup(stop)
	return stop
}

func (e *env) job(tenant, device string, priority int) *scheduler.Job {
	e.t.Helper()
	j := &scheduler.Job{ID: "job_" + xid.New().String(), Tenant: tenant, Priority: priority, Status: scheduler.StatusQueued,
		Options: scheduler.Options{Device: device}, CreatedAt: time.Now().UTC()}
	if _, err := e.s.Create(e.t.Context(), j); err != nil {
		e.t.Fatal(err)
	}
	return j
}

// take claims what is placed on worker id within d, or nil.
func (e *env) take(id string, d time.Duration) *scheduler.Lease {
	e.t.Helper()
	q, err := e.s.Queue(e.t.Context(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(e.t.Context(), d)
	defer cancel()
	l, err := q.Claim(ctx, id, time.Minute)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

// finish runs a taken job to success, as a worker does.
func (e *env) finish(worker string, l *scheduler.Lease) {
	e.t.Helper()
	if _, err := e.s.Update(e.t.Context(), l.JobID, func(j *scheduler.Job) error { j.Status = scheduler.StatusSucceeded; return nil }); err != nil {
		e.t.Fatal(err)
	}
	q, _ := e.s.Queue(e.t.Context(), worker)
	if err := q.Ack(e.t.Context(), l); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) get(id string) *scheduler.Job {
	e.t.Helper()
	j, err := e.s.Get(e.t.Context(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return j
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDeviceRoutingAndWaiting: a gpu job goes only to a GPU worker; with
// none healthy it waits and its record says why, and it is placed once one
// appears. A cpu job goes to the CPU worker.
func TestDeviceRoutingAndWaiting(t *testing.T) {
	e := newEnv(t)
	e.disc.set(cpu("c1", 2))
	e.start(dispatch.Config{})
	g := e.job("acme", scheduler.DeviceGPU, 10)
	c := e.job("acme", scheduler.DeviceCPU, 10)
	if l := e.take("c1", 5*time.Second); l == nil || l.JobID != c.ID {
		t.Fatalf("c1 took %+v; want the cpu job", l)
	}
	eventually(t, "the gpu job's waiting reason", func() bool { return e.get(g.ID).Waiting == "no healthy GPU worker" })
	if v := e.get(g.ID).View(); v.WaitingReason != "no healthy GPU worker" {
		t.Errorf("job view waiting_reason = %q", v.WaitingReason)
	}
	if l := e.take("c1", 300*time.Millisecond); l != nil {
		t.Fatalf("the gpu job was placed on a CPU worker")
	}
	e.disc.set(cpu("c1", 2), gpu("g1", 1))
	l := e.take("g1", 5*time.Second)
	if l == nil || l.JobID != g.ID {
		t.Fatalf("g1 took %+v; want the gpu job", l)
	}
	if j := e.get(g.ID); j.Waiting != "" || j.Worker != "g1" {
		t.Errorf("placed job record: waiting %q, worker %q", j.Waiting, j.Worker)
	}
}

// TestCapacityAndFairShares: a worker gets no more than its free slots,
// and a tenant's single job is not stuck behind another tenant's flood.
func TestCapacityAndFairShares(t *testing.T) {
	e := newEnv(t)
	var flood []*scheduler.Job
	for range 100 {
		flood = append(flood, e.job("flood", scheduler.DeviceAuto, 10))
	}
	single := e.job("single", scheduler.DeviceAuto, 10)
	e.start(dispatch.Config{})
	// With no worker yet, every job is held and marked waiting: the rounds
	// below see the whole backlog, as they do once a backlog is claimed.
	eventually(t, "the backlog held", func() bool { return e.get(single.ID).Waiting != "" })
	e.disc.set(cpu("c1", 2))
	var order []string
	for len(order) < 6 {
		l := e.take("c1", 5*time.Second)
		if l == nil {
			t.Fatal("nothing placed")
		}
		q, _ := e.s.Queue(t.Context(), "c1")
		st, _ := q.Stats(t.Context())
		if st.Depth+st.Leased > 2 {
			t.Fatalf("worker with 2 slots holds %d placed jobs", st.Depth+st.Leased)
		}
		order = append(order, l.JobID)
		e.finish("c1", l)
	}
	if i := slices.Index(order, single.ID); i < 0 || i > 3 {
		t.Fatalf("the single tenant's job came at %d of %v; want within the first few placements", i, order)
	}
	if order[0] != flood[0].ID && order[1] != flood[0].ID {
		t.Errorf("the flood's oldest job did not go first: %v", order)
	}
}

// TestGoneWorkerIsReclaimed: jobs placed on a worker that leaves discovery
// go back to the main queue after DeadAfter and are placed on another.
func TestGoneWorkerIsReclaimed(t *testing.T) {
	e := newEnv(t)
	e.disc.set(cpu("doomed", 4))
	e.start(dispatch.Config{DeadAfter: 300 * time.Millisecond})
	jobs := []*scheduler.Job{e.job("acme", "", 10), e.job("acme", "", 10)}
	q, _ := e.s.Queue(t.Context(), "doomed")
	eventually(t, "both jobs placed on doomed", func() bool {
		st, _ := q.Stats(t.Context())
		return st.Depth == 2
	})
	e.disc.set(cpu("heir", 4))
	got := map[string]bool{}
	for range jobs {
		l := e.take("heir", 5*time.Second)
		if l == nil {
			t.Fatal("the gone worker's jobs never reached heir")
		}
		got[l.JobID] = true
	}
	for _, j := range jobs {
		if !got[j.ID] || e.get(j.ID).Worker != "heir" {
			t.Errorf("job %s not re-placed on heir (worker %q)", j.ID, e.get(j.ID).Worker)
		}
	}
}

// TestCanceledWhileWaitingNeverRuns: a job canceled while the dispatcher
// holds it is never placed.
func TestCanceledWhileWaitingNeverRuns(t *testing.T) {
	e := newEnv(t)
	e.disc.set(cpu("c1", 1))
	g := e.job("acme", scheduler.DeviceGPU, 10)
	e.start(dispatch.Config{})
	eventually(t, "the job waits", func() bool { return e.get(g.ID).Waiting != "" })
	if _, err := e.s.Update(t.Context(), g.ID, func(j *scheduler.Job) error {
		j.CancelRequested, j.Status = true, scheduler.StatusCanceled
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.disc.set(cpu("c1", 1), gpu("g1", 1))
	if l := e.take("g1", time.Second); l != nil {
		t.Fatalf("a canceled job was placed: %+v", l)
	}
}

// TestFailoverHandsJobsBack: a dispatcher that stops hands its held jobs
// back, and the next one places them at once.
func TestFailoverHandsJobsBack(t *testing.T) {
	e := newEnv(t)
	e.disc.set(cpu("c1", 1))
	stop := e.start(dispatch.Config{Name: "leader-a", LeaseTTL: time.Minute})
	gs := []*scheduler.Job{e.job("acme", scheduler.DeviceGPU, 10), e.job("acme", scheduler.DeviceGPU, 10)}
	eventually(t, "the jobs are held", func() bool { return e.get(gs[1].ID).Waiting != "" })
	stop()
	e.disc.set(gpu("g1", 2))
	e.start(dispatch.Config{Name: "leader-b", LeaseTTL: time.Minute})
	for range gs {
		if l := e.take("g1", 5*time.Second); l == nil {
			t.Fatal("the standby never placed the jobs the old leader held (a 1-minute lease would have kept them)")
		}
	}
}

func TestUnknownScorer(t *testing.T) {
	e := newEnv(t)
	if _, err := dispatch.New(dispatch.Config{Scorer: "random"}, e.s, dispatch.RedisQueues{Store: e.s}, e.disc, slog.New(slog.DiscardHandler), nil); err == nil {
		t.Fatal("New accepted an unknown scorer")
	}
}

// TestQueueAgeMetric: while a job waits, the queue-age gauge shows its
// wait; once it is placed, the gauge drops to 0.
func TestQueueAgeMetric(t *testing.T) {
	e := newEnv(t)
	e.disc.set(cpu("c1", 1))
	set := metrics.NewSet()
	d, err := dispatch.New(dispatch.Config{Round: 20 * time.Millisecond, Region: "local"}, e.s, dispatch.RedisQueues{Store: e.s}, e.disc, slog.New(slog.DiscardHandler), set)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	g := e.job("acme", scheduler.DeviceGPU, 10)
	eventually(t, "the job waits", func() bool { return e.get(g.ID).Waiting != "" })
	time.Sleep(100 * time.Millisecond)
	if age := d.QueueAge(time.Now()); age < 100*time.Millisecond || age > time.Minute {
		t.Fatalf("QueueAge = %v while the job waits", age)
	}
	var b strings.Builder
	set.WritePrometheus(&b)
	var seconds float64
	for line := range strings.SplitSeq(b.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "docstrange_scheduler_queue_oldest_age_seconds "); ok {
			seconds, _ = strconv.ParseFloat(v, 64)
		}
	}
	if seconds < 0.1 {
		t.Errorf("queue age gauge = %v s while a job has waited 100ms; metrics:\n%s", seconds, b.String())
	}
	e.disc.set(cpu("c1", 1), gpu("g1", 1))
	if l := e.take("g1", 5*time.Second); l == nil {
		t.Fatal("not placed")
	}
	eventually(t, "the gauge back to 0", func() bool { return d.QueueAge(time.Now()) == 0 })
}

// TestDemand: the demand the autoscaler reads counts, per device class,
// the healthy workers, their busy slots, and the jobs left waiting, a GPU
// job as GPU demand and an auto one as CPU demand.
func TestDemand(t *testing.T) {
	e := newEnv(t)
	e.disc.set(cpu("c1", 2))
	e.start(dispatch.Config{})
	for range 4 {
		e.job("acme", scheduler.DeviceAuto, 10)
	}
	e.job("acme", scheduler.DeviceCPU, 10)
	e.job("acme", scheduler.DeviceGPU, 10)
	want := map[string]dispatch.DeviceDemand{
		scheduler.DeviceCPU: {Waiting: 3, InUse: 2, Workers: 1},
		scheduler.DeviceGPU: {Waiting: 1},
	}
	var got map[string]dispatch.DeviceDemand
	eventually(t, "the demand of 6 jobs on one 2-slot CPU worker", func() bool {
		got = e.d.Demand()
		return maps.Equal(got, want)
	})
	// Once the worker finishes what it holds, the rest is placed.
	for range 2 {
		e.finish("c1", e.take("c1", 5*time.Second))
	}
	want[scheduler.DeviceCPU] = dispatch.DeviceDemand{Waiting: 1, InUse: 2, Workers: 1}
	eventually(t, "the demand after two jobs finished", func() bool {
		got = e.d.Demand()
		return maps.Equal(got, want)
	})
}
