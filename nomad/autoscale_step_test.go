package nomad_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/docstrange/mesh/nomad"
)

// fakeDemand is the demand input; tests set it between steps.
type fakeDemand struct {
	mu  sync.Mutex
	m   map[string]nomad.Demand
	err error
}

func (f *fakeDemand) set(m map[string]nomad.Demand) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m = m
}

func (f *fakeDemand) Demand(ctx context.Context) (map[string]nomad.Demand, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]nomad.Demand, len(f.m))
	for k, v := range f.m {
		out[k] = v
	}
	return out, f.err
}

type scaleCall struct {
	group string
	count int
	msg   string
}

// fakeJobs stands in for Nomad in the tests of single branches Nomad
// cannot be made to take on demand: refusals, deployments, outages. The
// integration test (autoscale_test.go) runs the rest against a real agent.
type fakeJobs struct {
	mu         sync.Mutex
	job        *nomadapi.Job
	deployment *nomadapi.Deployment
	infoErr    error
	scaleErr   error
	calls      []scaleCall
}

func (f *fakeJobs) Info(jobID string, q *nomadapi.QueryOptions) (*nomadapi.Job, *nomadapi.QueryMeta, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.infoErr != nil {
		return nil, nil, f.infoErr
	}
	return f.job, &nomadapi.QueryMeta{}, nil
}

func (f *fakeJobs) LatestDeployment(jobID string, q *nomadapi.QueryOptions) (*nomadapi.Deployment, *nomadapi.QueryMeta, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.deployment, &nomadapi.QueryMeta{}, nil
}

func (f *fakeJobs) Scale(jobID, group string, count *int, message string, isErr bool, meta map[string]any, q *nomadapi.WriteOptions) (*nomadapi.JobRegisterResponse, *nomadapi.WriteMeta, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, scaleCall{group: group, count: *count, msg: message})
	if f.scaleErr != nil {
		return nil, nil, f.scaleErr
	}
	for _, tg := range f.job.TaskGroups {
		if *tg.Name == group {
			*tg.Count = *count
		}
	}
	return &nomadapi.JobRegisterResponse{}, &nomadapi.WriteMeta{}, nil
}

func (f *fakeJobs) scaleCalls() []scaleCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]scaleCall(nil), f.calls...)
}

// workerJob is the worker job's shape: a cpu group 1..20 and a gpu group
// 0..8, each rolling (max_parallel 1) when rolls is set.
func workerJob(rolls bool) *nomadapi.Job {
	group := func(name string, count int, min, max int64) *nomadapi.TaskGroup {
		tg := &nomadapi.TaskGroup{Name: &name, Count: &count, Scaling: &nomadapi.ScalingPolicy{Min: &min, Max: &max}}
		if rolls {
			one := 1
			tg.Update = &nomadapi.UpdateStrategy{MaxParallel: &one}
		}
		return tg
	}
	idx := uint64(7)
	return &nomadapi.Job{CreateIndex: &idx, TaskGroups: []*nomadapi.TaskGroup{group("cpu", 1, 1, 20), group("gpu", 0, 0, 8)}}
}

func newTestAutoscaler(t *testing.T, jobs nomad.JobScaler, src nomad.DemandSource, log *slog.Logger, set *metrics.Set) *nomad.Autoscaler {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a, err := nomad.NewAutoscaler(nomad.AutoscalerConfig{CoolDown: time.Hour}, jobs, src, log, set)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func metricsText(set *metrics.Set) string {
	var b bytes.Buffer
	set.WritePrometheus(&b)
	return b.String()
}

// TestStepRefusedScale: a scale Nomad refuses comes back wrapped, counts as
// a failure, starts no cool-down (the next step tries again) and keeps the
// other group scaling.
func TestStepRefusedScale(t *testing.T) {
	refused := errors.New("Unexpected response code: 500 (no leader)")
	jobs := &fakeJobs{job: workerJob(false), scaleErr: refused}
	src := &fakeDemand{m: map[string]nomad.Demand{"cpu": {Waiting: 9, InUse: 2}, "gpu": {Waiting: 1}}}
	set := metrics.NewSet()
	a := newTestAutoscaler(t, jobs, src, nil, set)
	err := a.Step(t.Context())
	if !errors.Is(err, refused) || !strings.Contains(err.Error(), `scaling group "cpu" from 1 to 6`) || !strings.Contains(err.Error(), `scaling group "gpu" from 0 to 1`) {
		t.Fatalf("Step = %v; want both refusals, wrapped", err)
	}
	if err := a.Step(t.Context()); err == nil {
		t.Fatal("second Step succeeded against a refusing Nomad")
	}
	if n := len(jobs.scaleCalls()); n != 4 {
		t.Fatalf("%d scale calls; want 4 (a refusal starts no cool-down)", n)
	}
	text := metricsText(set)
	for _, want := range []string{
		`docstrange_scheduler_scale_failures_total{group="cpu"} 2`,
		`docstrange_scheduler_scale_failures_total{group="gpu"} 2`,
		`docstrange_scheduler_scale_events_total{group="cpu",direction="up"} 0`,
		`docstrange_scheduler_desired_workers{group="cpu"} 6`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q:\n%s", want, text)
		}
	}
}

// TestStepWaitsForDeployment: while the job's deployment runs, Nomad would
// refuse (and record an error event), so the autoscaler does not ask; a
// deployment of an earlier job by that name does not count.
func TestStepWaitsForDeployment(t *testing.T) {
	jobs := &fakeJobs{job: workerJob(true), deployment: &nomadapi.Deployment{ID: "d1", Status: nomadapi.DeploymentStatusRunning, JobCreateIndex: 7}}
	src := &fakeDemand{m: map[string]nomad.Demand{"cpu": {Waiting: 9}}}
	a := newTestAutoscaler(t, jobs, src, nil, nil)
	if err := a.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	if calls := jobs.scaleCalls(); len(calls) != 0 {
		t.Fatalf("scaled during a deployment: %+v", calls)
	}
	jobs.mu.Lock()
	jobs.deployment.JobCreateIndex = 3
	jobs.mu.Unlock()
	if err := a.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	if calls := jobs.scaleCalls(); len(calls) != 1 || calls[0].count != 5 {
		t.Fatalf("scale calls = %+v; want cpu to 5 past an old job's deployment", calls)
	}
}

// TestStepOneRollingGroupPerStep: scaling a rolling group starts a
// deployment, which would block the next group's scale in the same step.
func TestStepOneRollingGroupPerStep(t *testing.T) {
	jobs := &fakeJobs{job: workerJob(true)}
	src := &fakeDemand{m: map[string]nomad.Demand{"cpu": {Waiting: 9}, "gpu": {Waiting: 1}}}
	a := newTestAutoscaler(t, jobs, src, nil, nil)
	if err := a.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	if calls := jobs.scaleCalls(); len(calls) != 1 || calls[0].group != "cpu" {
		t.Fatalf("scale calls = %+v; want only cpu", calls)
	}
	if err := a.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	if calls := jobs.scaleCalls(); len(calls) != 2 || calls[1].group != "gpu" || calls[1].count != 1 {
		t.Fatalf("scale calls = %+v; want gpu to 1 in the next step", calls)
	}
}

// TestStepLeavesGroupsAlone: a group without a usable scaling block, or a
// stopped job, is never scaled whatever the demand, and why is logged once.
func TestStepLeavesGroupsAlone(t *testing.T) {
	job := workerJob(false)
	off := false
	job.TaskGroups[0].Scaling.Enabled = &off
	job.TaskGroups[1].Scaling = nil
	jobs := &fakeJobs{job: job}
	src := &fakeDemand{m: map[string]nomad.Demand{"cpu": {Waiting: 90}, "gpu": {Waiting: 90}}}
	var logs bytes.Buffer
	a := newTestAutoscaler(t, jobs, src, slog.New(slog.NewTextHandler(&logs, nil)), nil)
	for range 3 {
		if err := a.Step(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if calls := jobs.scaleCalls(); len(calls) != 0 {
		t.Fatalf("scaled unscalable groups: %+v", calls)
	}
	if n := strings.Count(logs.String(), "not scaling the group"); n != 2 {
		t.Fatalf("logged %d skips in 3 steps; want one per group:\n%s", n, logs.String())
	}

	stopped := workerJob(false)
	yes := true
	stopped.Stop = &yes
	jobs = &fakeJobs{job: stopped}
	a = newTestAutoscaler(t, jobs, src, nil, nil)
	if err := a.Step(t.Context()); err != nil || len(jobs.scaleCalls()) != 0 {
		t.Fatalf("stopped job: Step = %v, calls %+v; want it left alone", err, jobs.scaleCalls())
	}
}

func TestNewAutoscalerRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  nomad.AutoscalerConfig
		want string
	}{
		{name: "negative every", cfg: nomad.AutoscalerConfig{Every: -time.Second}, want: "every is negative"},
		{name: "negative cool-down", cfg: nomad.AutoscalerConfig{CoolDown: -time.Second}, want: "cool_down is negative"},
		{name: "empty groups", cfg: nomad.AutoscalerConfig{Groups: []nomad.ScaleGroup{}}, want: "no groups"},
		{name: "unknown device", cfg: nomad.AutoscalerConfig{Groups: []nomad.ScaleGroup{{Device: "tpu", Group: "tpu", Slots: 1}}}, want: `unknown device "tpu"`},
		{name: "zero slots", cfg: nomad.AutoscalerConfig{Groups: []nomad.ScaleGroup{{Device: "cpu", Group: "cpu"}}}, want: "slots 0"},
		{name: "nameless group", cfg: nomad.AutoscalerConfig{Groups: []nomad.ScaleGroup{{Device: "cpu", Slots: 2}}}, want: "no name"},
		{name: "device twice", cfg: nomad.AutoscalerConfig{Groups: []nomad.ScaleGroup{{Device: "cpu", Group: "a", Slots: 2}, {Device: "cpu", Group: "b", Slots: 2}}}, want: "twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := nomad.NewAutoscaler(tc.cfg, &fakeJobs{}, &fakeDemand{}, slog.New(slog.DiscardHandler), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewAutoscaler = %v; want an error with %q", err, tc.want)
			}
		})
	}
}

// TestRunBacksOffAndStops: Run keeps going through errors, waiting longer
// after each, and returns when ctx ends.
func TestRunBacksOffAndStops(t *testing.T) {
	jobs := &fakeJobs{infoErr: errors.New("connection refused")}
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &logs}, nil))
	a, err := nomad.NewAutoscaler(nomad.AutoscalerConfig{Every: 10 * time.Millisecond}, jobs, &fakeDemand{}, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after ctx ended")
	}
	mu.Lock()
	defer mu.Unlock()
	// 20, 40, 80 ms waits fit 200ms; without the backoff, about 20 would.
	if n := strings.Count(logs.String(), "connection refused"); n < 2 || n > 5 {
		t.Fatalf("%d failed steps logged in 200ms; want 2 to 5 with backoff:\n%s", n, logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
