package nomad_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/docstrange/mesh/internal/nomadtest"
	"github.com/docstrange/mesh/nomad"
)

func ptr[T any](v T) *T { return &v }

// testWorkerJob is the worker job's shape on raw_exec: a group "cpu" that
// the autoscaler owns (scaling 1..3) and a group "fixed" without a scaling
// block.
func testWorkerJob(id string, update *nomadapi.UpdateStrategy) *nomadapi.Job {
	job := nomadapi.NewServiceJob(id, id, "global", 50)
	job.Datacenters = []string{"dc1"}
	job.Update = update
	task := func() *nomadapi.Task {
		t := nomadapi.NewTask("worker", "raw_exec")
		t.Config = map[string]any{"command": "/bin/sleep", "args": []string{"300"}}
		t.Require(&nomadapi.Resources{CPU: ptr(20), MemoryMB: ptr(16)})
		return t
	}
	cpu := nomadapi.NewTaskGroup("cpu", 1).AddTask(task())
	cpu.Scaling = &nomadapi.ScalingPolicy{Min: ptr(int64(1)), Max: ptr(int64(3)), Enabled: ptr(true)}
	fixed := nomadapi.NewTaskGroup("fixed", 1).AddTask(task())
	return job.AddTaskGroup(cpu).AddTaskGroup(fixed)
}

func groupCounts(t *testing.T, c *nomadapi.Client, id string) map[string]int {
	t.Helper()
	job, _, err := c.Jobs().Info(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, tg := range job.TaskGroups {
		out[*tg.Name] = *tg.Count
	}
	return out
}

// scaleEvents returns a group's scaling events as Nomad recorded them.
func scaleEvents(t *testing.T, c *nomadapi.Client, id, group string) []nomadapi.ScalingEvent {
	t.Helper()
	st, _, err := c.Jobs().ScaleStatus(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st.TaskGroups[group].Events
}

func findEvent(events []nomadapi.ScalingEvent, prefix string) *nomadapi.ScalingEvent {
	for i := range events {
		if strings.HasPrefix(events[i].Message, prefix) {
			return &events[i]
		}
	}
	return nil
}

// TestAutoscalerAgainstNomad drives a real Nomad agent: demand scales the
// cpu group up at once, clamped to its max, with the reason recorded in
// Nomad's scale event; the group without a scaling block is never touched;
// the cool-down holds back the next event; and once demand has stayed at
// zero for ScaleDownAfter the group returns to its min.
func TestAutoscalerAgainstNomad(t *testing.T) {
	start := time.Now()
	agent := nomadtest.Start(t)
	c := agent.Client(t)
	t.Logf("nomad ready in %v", time.Since(start).Round(time.Millisecond))
	// max_parallel 0: no deployments, so the counts move the moment Nomad
	// takes them (TestAutoscalerWaitsForNomadDeployment covers the rest).
	if _, _, err := c.Jobs().Register(testWorkerJob("docstrange-worker", &nomadapi.UpdateStrategy{MaxParallel: ptr(0)}), nil); err != nil {
		t.Fatal(err)
	}
	src := &fakeDemand{m: map[string]nomad.Demand{"cpu": {Waiting: 9, InUse: 2, Workers: 1}, "gpu": {Waiting: 50}}}
	set := metrics.NewSet()
	const coolDown = 1500 * time.Millisecond
	a, err := nomad.NewAutoscaler(nomad.AutoscalerConfig{
		Groups:   []nomad.ScaleGroup{{Device: "cpu", Group: "cpu", Slots: 2}, {Device: "gpu", Group: "fixed", Slots: 1}},
		CoolDown: coolDown, ScaleDownAfter: 200 * time.Millisecond,
	}, c.Jobs(), src, slog.New(slog.DiscardHandler), set)
	if err != nil {
		t.Fatal(err)
	}

	scaledUp := time.Now()
	if err := a.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := groupCounts(t, c, "docstrange-worker"); got["cpu"] != 3 || got["fixed"] != 1 {
		t.Fatalf("counts after demand for 6 workers = %v; want cpu 3 (its max), fixed 1 (untouched)", got)
	}
	events := scaleEvents(t, c, "docstrange-worker", "cpu")
	up := findEvent(events, "scale cpu 1→3")
	if up == nil {
		t.Fatalf("no scale event for cpu 1→3 in %+v", events)
	}
	if want := "scale cpu 1→3: 9 jobs waiting, 2 slots in use, 2 slots per worker; 6 workers needed, capped at max 3"; up.Message != want || up.Error {
		t.Errorf("event message = %q (error %v); want %q", up.Message, up.Error, want)
	}
	if up.Count == nil || *up.Count != 3 || up.PreviousCount != 1 || up.Meta["waiting"] != float64(9) || up.Meta["desired"] != float64(3) {
		t.Errorf("event = count %v from %d, meta %v; want 3 from 1 with waiting 9, desired 3", up.Count, up.PreviousCount, up.Meta)
	}
	if ev := scaleEvents(t, c, "docstrange-worker", "fixed"); len(ev) != 0 {
		t.Errorf("the group without a scaling block has events: %+v", ev)
	}

	// Demand drops to nothing: low for longer than ScaleDownAfter, but
	// inside the cool-down, nothing moves.
	src.set(nil)
	if err := a.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := a.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	if inside := time.Since(scaledUp); inside < coolDown {
		if got := groupCounts(t, c, "docstrange-worker"); got["cpu"] != 3 {
			t.Fatalf("cpu count %d inside the cool-down; want 3", got["cpu"])
		}
		if n := len(scaleEvents(t, c, "docstrange-worker", "cpu")); n != len(events) {
			t.Fatalf("%d scale events inside the cool-down; want %d", n, len(events))
		}
	} else {
		t.Logf("the steps took %v, past the %v cool-down: not checked", inside, coolDown)
	}

	// After the cool-down, the idle group returns to its min, not below.
	deadline := time.Now().Add(coolDown + 5*time.Second)
	for {
		before := time.Now()
		if err := a.Step(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := groupCounts(t, c, "docstrange-worker"); got["cpu"] != 3 {
			if got["cpu"] != 1 || got["fixed"] != 1 {
				t.Fatalf("counts after an idle spell = %v; want cpu 1 (its min), fixed 1", got)
			}
			if early := before.Sub(scaledUp); early < coolDown {
				t.Fatalf("scaled down %v after scaling up; want the %v cool-down kept", early, coolDown)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cpu still at 3 %v after scaling up with no demand", time.Since(scaledUp))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for range 2 {
		if err := a.Step(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if got := groupCounts(t, c, "docstrange-worker"); got["cpu"] != 1 {
		t.Fatalf("cpu count %d after more idle steps; want to stay at min 1", got["cpu"])
	}
	down := findEvent(scaleEvents(t, c, "docstrange-worker", "cpu"), "scale cpu 3→1")
	if down == nil || !strings.Contains(down.Message, "0 jobs waiting, 0 slots in use, 2 slots per worker; 0 workers needed, kept at min 1; demand below 3 workers for") {
		t.Fatalf("scale-down event = %+v", down)
	}
	if n := len(scaleEvents(t, c, "docstrange-worker", "cpu")); n != len(events)+1 {
		t.Fatalf("%d scale events; want %d (one up, one down)", n, len(events)+1)
	}
	text := metricsText(set)
	for _, want := range []string{
		`docstrange_scheduler_scale_events_total{group="cpu",direction="up"} 1`,
		`docstrange_scheduler_scale_events_total{group="cpu",direction="down"} 1`,
		`docstrange_scheduler_scale_failures_total{group="cpu"} 0`,
		`docstrange_scheduler_desired_workers{group="cpu"} 1`,
		`docstrange_scheduler_scale_events_total{group="fixed",direction="up"} 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q:\n%s", want, text)
		}
	}
	t.Logf("whole test %v", time.Since(start).Round(time.Millisecond))
}

// TestAutoscalerWaitsForNomadDeployment: while a deployment of the job
// runs, Nomad refuses scale requests; the autoscaler sees it and waits,
// without an error or a failed call.
func TestAutoscalerWaitsForNomadDeployment(t *testing.T) {
	agent := nomadtest.Start(t)
	c := agent.Client(t)
	// A deployment that stays running: allocations count as healthy only
	// after ten minutes.
	update := &nomadapi.UpdateStrategy{
		MaxParallel: ptr(1), HealthCheck: ptr("task_states"), MinHealthyTime: ptr(10 * time.Minute),
		HealthyDeadline: ptr(15 * time.Minute), ProgressDeadline: ptr(20 * time.Minute),
	}
	if _, _, err := c.Jobs().Register(testWorkerJob("docstrange-worker", update), nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, _, err := c.Jobs().LatestDeployment("docstrange-worker", nil)
		if err != nil {
			t.Fatal(err)
		}
		if d != nil && d.Status == nomadapi.DeploymentStatusRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no running deployment after 20s: %+v", d)
		}
		time.Sleep(100 * time.Millisecond)
	}
	src := &fakeDemand{m: map[string]nomad.Demand{"cpu": {Waiting: 9}}}
	set := metrics.NewSet()
	a, err := nomad.NewAutoscaler(nomad.AutoscalerConfig{Groups: []nomad.ScaleGroup{{Device: "cpu", Group: "cpu", Slots: 2}}}, c.Jobs(), src, slog.New(slog.DiscardHandler), set)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Step(t.Context()); err != nil {
		t.Fatalf("Step during a deployment = %v; want it to wait quietly", err)
	}
	if got := groupCounts(t, c, "docstrange-worker"); got["cpu"] != 1 {
		t.Fatalf("cpu count %d during a deployment; want 1", got["cpu"])
	}
	if ev := scaleEvents(t, c, "docstrange-worker", "cpu"); len(ev) != 0 {
		t.Fatalf("scale events during a deployment: %+v", ev)
	}
	if text := metricsText(set); !strings.Contains(text, `docstrange_scheduler_scale_failures_total{group="cpu"} 0`) {
		t.Fatalf("failed scale calls during a deployment:\n%s", text)
	}
	// The control: Nomad does refuse now, so the test shows the
	// autoscaler's restraint, not an idle Nomad.
	count := 3
	if _, _, err := c.Jobs().Scale("docstrange-worker", "cpu", &count, "control", false, nil, nil); err == nil || !strings.Contains(err.Error(), "active deployment") {
		t.Fatalf("a direct scale during the deployment = %v; want Nomad's refusal", err)
	}
}
