package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/internal/consultest"
	"github.com/docstrange/mesh/internal/redistest"
	"github.com/docstrange/mesh/scheduler/redisstore"
)

// registerWorker does what Nomad's service block does for an allocation:
// the worker in Consul with its meta and an HTTP check on /health.
func registerWorker(t *testing.T, c *consul.Client, w *workerProc, id, device string, slots int) {
	t.Helper()
	err := c.Agent().ServiceRegister(&consul.AgentServiceRegistration{
		ID: "svc-" + id, Name: "docstrange-worker",
		Meta:  map[string]string{"device": device, "slots": fmt.Sprint(slots), "backends": "onnx", "region": "local", "alloc_id": id},
		Check: &consul.AgentServiceCheck{HTTP: "http://" + w.addr + "/health", Interval: "500ms", Timeout: "1s"},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestScheduler: jobs leave the edge through Redis, the leading scheduler
// places them on healthy workers from Consul (GPU jobs only on the GPU
// worker, waiting with a reason while there is none), a worker killed with
// -9 mid-job loses nothing, and when the leader is killed with -9 the
// standby takes over within 15s and jobs keep flowing.
func TestScheduler(t *testing.T) {
	agent := consultest.Start(t)
	cc := agent.Client(t)
	srv := redistest.Start(t)
	blobs := t.TempDir()
	shared := []string{"DOCSTRANGE_REDIS_ADDR=" + srv.Addr(), "DOCSTRANGE_REDIS_PREFIX=sch:", "DOCSTRANGE_BLOB_DIR=" + blobs}
	s := startStack(t, append([]string{"DOCSTRANGE_STORE=redis", testPepper, "DOCSTRANGE_WORKERS=-1"}, shared...)...)
	workerEnv := append([]string{"DOCSTRANGE_QUEUE=assigned", "DOCSTRANGE_LEASE_TTL=2s", "DOCSTRANGE_CACHE_DIR=" + filepath.Join(t.TempDir(), "wazero")}, shared...)
	schedEnv := append([]string{"CONSUL_HTTP_ADDR=" + agent.Addr, "DOCSTRANGE_LOG_LEVEL=debug", "DOCSTRANGE_DEAD_AFTER=3s"}, shared...)

	rs, err := redisstore.New(t.Context(), redisstore.Config{Addr: srv.Addr(), Prefix: "sch:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	cpuW := startWorker(t, append(workerEnv, "DOCSTRANGE_WORKER_ID=cpu-1", "DOCSTRANGE_SLOTS=2")...)
	registerWorker(t, cc, cpuW, "cpu-1", "cpu", 2)
	// Processes started inside subtests belong to the whole test, so they
	// outlive the subtest that starts them.
	top := t
	leaderA := startCommand(t, "docstrange-scheduler", append(schedEnv, "DOCSTRANGE_SCHEDULER_NAME=a")...)
	leaderB := startCommand(t, "docstrange-scheduler", append(schedEnv, "DOCSTRANGE_SCHEDULER_NAME=b")...)

	t.Run("jobs flow to the workers", func(t *testing.T) {
		var ids []string
		for i := range 8 {
			ids = append(ids, s.submitOK(fmt.Sprintf("d%d.pdf", i), makePDF(1+i%3), nil).JobID)
		}
		for _, id := range ids {
			if j := s.waitFor(id, 60*time.Second); j.Status != "succeeded" || j.Device != "cpu" {
				t.Fatalf("job %s: %+v", id, j)
			}
		}
	})

	t.Run("a GPU job waits for a GPU worker", func(t *testing.T) {
		job := s.submitOK("g.pdf", readFile(t, helloPDF), map[string]string{"device": "gpu"})
		deadline := time.Now().Add(20 * time.Second)
		var j api.Job
		for time.Now().Before(deadline) {
			s.get("/api/v1/jobs/"+job.JobID).json(t, &j)
			if j.WaitingReason != "" {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if j.Status != "queued" || j.WaitingReason != "no healthy GPU worker" {
			t.Fatalf("GPU job without a GPU worker: %+v", j)
		}
		gpuW := startWorker(top, append(workerEnv, "DOCSTRANGE_WORKER_ID=gpu-1", "DOCSTRANGE_DEVICE=gpu", "DOCSTRANGE_SLOTS=1")...)
		registerWorker(t, cc, gpuW, "gpu-1", "gpu", 1)
		if j := s.waitFor(job.JobID, 60*time.Second); j.Status != "succeeded" || j.Device != "gpu" || j.WaitingReason != "" {
			t.Fatalf("GPU job once a GPU worker is healthy: %+v", j)
		}
	})

	t.Run("kill -9 a worker mid-job", func(t *testing.T) {
		doomed := startWorker(top, append(workerEnv, "DOCSTRANGE_WORKER_ID=doomed", "DOCSTRANGE_SLOTS=4")...)
		registerWorker(t, cc, doomed, "doomed", "cpu", 4)
		procs := map[string]*workerProc{"cpu-1": cpuW, "doomed": doomed}
		job := s.submitOK("long.pdf", makePDF(600), nil)
		waitRunning(t, s, job.JobID)
		rec, err := rs.Get(t.Context(), job.JobID)
		if err != nil || procs[rec.Worker] == nil {
			t.Fatalf("long job record: %+v, %v", rec, err)
		}
		// Kill whichever worker runs it; the other finishes it once the
		// dead one's lease runs out and its queue is given back.
		procs[rec.Worker].signal(syscall.SIGKILL)
		j := s.waitFor(job.JobID, 120*time.Second)
		if j.Status != "succeeded" || j.Attempts < 2 {
			t.Fatalf("after killing %s: %+v; want succeeded on a second attempt", rec.Worker, j)
		}
		if after, _ := rs.Get(t.Context(), job.JobID); after == nil || after.Worker == rec.Worker {
			t.Errorf("the job was not re-placed away from the killed worker %s", rec.Worker)
		}
	})

	t.Run("kill -9 the leader", func(t *testing.T) {
		var health struct {
			Leader bool `json:"leader"`
		}
		leader, standby := leaderA, leaderB
		resp, err := http.Get("http://" + leaderA.addr + "/health")
		if err != nil {
			t.Fatal(err)
		}
		jsonDecode(t, resp, &health)
		if !health.Leader {
			leader, standby = leaderB, leaderA
		}
		leader.signal(syscall.SIGKILL)
		start := time.Now()
		job := s.submitOK("after.pdf", readFile(t, helloPDF), nil)
		if j := s.waitFor(job.JobID, 60*time.Second); j.Status != "succeeded" {
			t.Fatalf("job after the leader died: %+v", j)
		}
		took := time.Since(start)
		t.Logf("a job submitted when the leader died succeeded after %v", took.Round(time.Millisecond))
		if took > 15*time.Second {
			t.Errorf("the standby took %v to take over; want within 15s", took)
		}
		resp, err = http.Get("http://" + standby.addr + "/health")
		if err != nil {
			t.Fatal(err)
		}
		jsonDecode(t, resp, &health)
		if !health.Leader {
			t.Error("the standby does not report leading")
		}
	})
}

func jsonDecode(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
