package nomad_test

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"

	"github.com/docstrange/mesh/internal/consultest"
	"github.com/docstrange/mesh/nomad"
	"github.com/docstrange/mesh/scheduler/placement"
)

func register(t *testing.T, c *consul.Client, id string, meta map[string]string) {
	t.Helper()
	err := c.Agent().ServiceRegister(&consul.AgentServiceRegistration{
		ID: id, Name: nomad.WorkerService, Meta: meta,
		Check: &consul.AgentServiceCheck{CheckID: "check-" + id, TTL: "1m", Status: consul.HealthPassing},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDiscovery: passing worker instances become placement workers from
// their meta; a failing check or bad meta drops one; changes show through
// the blocking query without polling.
func TestDiscovery(t *testing.T) {
	agent := consultest.Start(t)
	c := agent.Client(t)
	d := nomad.NewDiscovery(c, "", slog.New(slog.DiscardHandler))
	if _, err := d.Workers(t.Context()); err == nil {
		t.Fatal("Workers answered before the first query")
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { d.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	register(t, c, "svc-cpu", map[string]string{"device": "cpu", "slots": "2", "backends": "onnx", "region": "eu", "alloc_id": "alloc-1"})
	register(t, c, "svc-gpu", map[string]string{"device": "gpu", "slots": "4", "backends": "onnx, trt", "region": "eu"})
	register(t, c, "svc-bad", map[string]string{"device": "tpu", "slots": "2"})
	register(t, c, "svc-noslots", map[string]string{"device": "cpu"})
	want := []placement.Worker{
		{ID: "alloc-1", Device: "cpu", Slots: 2, Backends: []string{"onnx"}, Region: "eu"},
		{ID: "svc-gpu", Device: "gpu", Slots: 4, Backends: []string{"onnx", "trt"}, Region: "eu"},
	}
	var got []placement.Worker
	eventually(t, 10*time.Second, "both workers", func() bool {
		got, _ = d.Workers(t.Context())
		return len(got) == 2
	})
	for i := range got {
		got[i].Node = "" // the agent's node name varies
	}
	if !slices.EqualFunc(got, want, func(a, b placement.Worker) bool {
		return a.ID == b.ID && a.Device == b.Device && a.Slots == b.Slots && a.Region == b.Region && slices.Equal(a.Backends, b.Backends)
	}) {
		t.Fatalf("Workers = %+v; want %+v", got, want)
	}
	if err := c.Agent().UpdateTTL("check-svc-gpu", "wedged", consul.HealthCritical); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the failing GPU worker to drop out", func() bool {
		got, _ = d.Workers(t.Context())
		return len(got) == 1 && got[0].ID == "alloc-1"
	})
}

// TestLeaderTakeover: of two contenders one leads; when it stops, the other
// leads within 15s.
func TestLeaderTakeover(t *testing.T) {
	agent := consultest.Start(t)
	c := agent.Client(t)
	var mu sync.Mutex
	leading := map[string]bool{}
	contender := func(name string) (stop func()) {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			nomad.Lead(ctx, c, "test/leader", name, slog.New(slog.DiscardHandler), func(lctx context.Context) {
				mu.Lock()
				leading[name] = true
				mu.Unlock()
				<-lctx.Done()
				mu.Lock()
				leading[name] = false
				mu.Unlock()
			})
		}()
		return func() { cancel(); <-done }
	}
	count := func() (n int, who string) {
		mu.Lock()
		defer mu.Unlock()
		for name, on := range leading {
			if on {
				n++
				who = name
			}
		}
		return
	}
	stopA := contender("a")
	stopB := contender("b")
	t.Cleanup(stopB)
	eventually(t, 15*time.Second, "a leader", func() bool { n, _ := count(); return n == 1 })
	// The liveness checks are service checks: a node check gone critical
	// would hide every service on the node, workers included.
	checks, err := c.Agent().Checks()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		ch := checks["docstrange-scheduler-lock-"+name]
		if ch == nil || ch.ServiceID == "" || ch.Status != consul.HealthPassing {
			t.Errorf("liveness check of %s = %+v; want a passing service check", name, ch)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if n, _ := count(); n != 1 {
		t.Fatalf("%d leaders at once", n)
	}
	_, first := count()
	if first == "a" {
		stopA()
	} else {
		stopB()
		stopB = stopA
	}
	start := time.Now()
	eventually(t, 15*time.Second, "the standby to take over", func() bool {
		n, who := count()
		return n == 1 && who != first
	})
	t.Logf("takeover after %v", time.Since(start).Round(time.Millisecond))
}
