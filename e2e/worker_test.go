package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/internal/proctest"
	"github.com/docstrange/mesh/internal/redistest"
	"github.com/docstrange/mesh/scheduler/redisstore"
)

var (
	binMu    sync.Mutex
	binPaths = map[string]string{}
)

// buildCmd builds one of our commands (edge/cmd/<name>) once per run,
// instrumented like the edge when the run collects coverage.
func buildCmd(t *testing.T, name string) string {
	t.Helper()
	binMu.Lock()
	defer binMu.Unlock()
	if p, ok := binPaths[name]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "docstrange-bin-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, name)
	flags := []string{"-ldflags", "-X 'main.version=e2e (commit test)'"}
	if os.Getenv("DOCSTRANGE_E2E_COVERDIR") != "" {
		flags = append(flags, "-cover", "-coverpkg=github.com/docstrange/mesh/...")
	}
	if err := goBuildFlags(bin, "../edge/cmd/"+name, flags...); err != nil {
		t.Fatalf("building %s: %v", name, err)
	}
	binPaths[name] = bin
	return bin
}

// workerProc is one docstrange-worker process.
type workerProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	logs *proctest.Log
	addr string
}

// startWorker runs a worker with env, waiting until its /health answers.
func startWorker(t *testing.T, env ...string) *workerProc {
	t.Helper()
	return startCommand(t, "docstrange-worker", env...)
}

// startCommand runs one of our service commands (a worker, a scheduler)
// with env, waiting until its /health answers 200.
func startCommand(t *testing.T, name string, env ...string) *workerProc {
	t.Helper()
	w := &workerProc{t: t, logs: &proctest.Log{}, addr: "127.0.0.1:" + strconv.Itoa(proctest.FreePorts(t, 1)[0])}
	w.cmd = exec.Command(buildCmd(t, name))
	w.cmd.Env = append(append(os.Environ(), "DOCSTRANGE_HTTP_ADDR="+w.addr), env...)
	if dir := os.Getenv("DOCSTRANGE_E2E_COVERDIR"); dir != "" {
		w.cmd.Env = append(w.cmd.Env, "GOCOVERDIR="+dir)
	}
	w.cmd.Stdout, w.cmd.Stderr = w.logs, w.logs
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.signal(syscall.SIGINT)
		if t.Failed() {
			t.Logf("%s logs:\n%s", name, tail(w.logs.String(), 6000))
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + w.addr + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return w
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not healthy after 60s:\n%s", name, tail(w.logs.String(), 6000))
	return nil
}

// signal sends sig and waits for the process to exit.
func (w *workerProc) signal(sig syscall.Signal) {
	if w.cmd == nil || w.cmd.Process == nil {
		return
	}
	w.cmd.Process.Signal(sig)
	done := make(chan struct{})
	go func() { w.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		w.cmd.Process.Kill()
		<-done
	}
	w.cmd = nil
}

// TestStandaloneWorkers: an edge with no embedded worker and standalone
// docstrange-worker processes sharing its Redis and blob folder run every
// job; a worker killed with -9 in the middle of a job loses nothing (its
// lease expires and another worker finishes the job), and a worker stopped
// with SIGINT hands its job back at once.
func TestStandaloneWorkers(t *testing.T) {
	srv := redistest.Start(t)
	blobs := t.TempDir()
	shared := []string{"DOCSTRANGE_REDIS_ADDR=" + srv.Addr(), "DOCSTRANGE_REDIS_PREFIX=sw:", "DOCSTRANGE_BLOB_DIR=" + blobs}
	s := startStack(t, append([]string{"DOCSTRANGE_STORE=redis", testPepper, "DOCSTRANGE_WORKERS=-1"}, shared...)...)
	workerEnv := append([]string{"DOCSTRANGE_LEASE_TTL=2s", "DOCSTRANGE_SLOTS=2", "DOCSTRANGE_CACHE_DIR=" + filepath.Join(t.TempDir(), "wazero")}, shared...)

	t.Run("jobs run on the workers", func(t *testing.T) {
		w := startWorker(t, append(workerEnv, "DOCSTRANGE_WORKER_ID=w1")...)
		var ids []string
		for i := range 10 {
			ids = append(ids, s.submitOK(fmt.Sprintf("doc%d.pdf", i), makePDF(1+i%3), nil).JobID)
		}
		for _, id := range ids {
			if j := s.waitFor(id, 60*time.Second); j.Status != "succeeded" {
				t.Fatalf("job %s: %+v", id, j)
			}
		}
		res := s.get("/api/v1/jobs/" + ids[0] + "/result?format=text")
		if res.status != http.StatusOK || len(res.body) == 0 {
			t.Fatalf("result served by the edge from the shared folder: %d %s", res.status, res.body)
		}
		w.signal(syscall.SIGINT)
	})

	t.Run("kill -9 mid-job", func(t *testing.T) {
		w1 := startWorker(t, append(workerEnv, "DOCSTRANGE_WORKER_ID=doomed", "DOCSTRANGE_SLOTS=1")...)
		job := s.submitOK("long.pdf", makePDF(600), nil)
		waitRunning(t, s, job.JobID)
		w1.signal(syscall.SIGKILL)
		startWorker(t, append(workerEnv, "DOCSTRANGE_WORKER_ID=heir")...)
		j := s.waitFor(job.JobID, 120*time.Second)
		if j.Status != "succeeded" || j.Attempts < 2 {
			t.Fatalf("after the kill: %+v; want succeeded on a second attempt", j)
		}
	})

	t.Run("an assigned worker runs only the jobs placed on it", func(t *testing.T) {
		startWorker(t, append(workerEnv, "DOCSTRANGE_WORKER_ID=placed-only", "DOCSTRANGE_QUEUE=assigned")...)
		job := s.submitOK("hello.pdf", readFile(t, helloPDF), nil)
		time.Sleep(time.Second)
		var j api.Job
		s.get("/api/v1/jobs/"+job.JobID).json(t, &j)
		if j.Status != "queued" {
			t.Fatalf("an unplaced job ran on an assigned worker: %+v", j)
		}
		// Place it as the scheduler does: take it from the main queue,
		// put it on the worker's queue, then let go of the main lease.
		rs, err := redisstore.New(t.Context(), redisstore.Config{Addr: srv.Addr(), Prefix: "sw:"})
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		lease, err := rs.Claim(t.Context(), "e2e-scheduler", time.Minute)
		if err != nil || lease.JobID != job.JobID {
			t.Fatalf("main queue claim = %+v, %v", lease, err)
		}
		q, err := rs.Queue(t.Context(), "placed-only")
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Enqueue(t.Context(), job.JobID); err != nil {
			t.Fatal(err)
		}
		if err := rs.Ack(t.Context(), lease); err != nil {
			t.Fatal(err)
		}
		if j := s.waitFor(job.JobID, 60*time.Second); j.Status != "succeeded" {
			t.Fatalf("placed job: %+v", j)
		}
	})

	t.Run("SIGINT hands the job back", func(t *testing.T) {
		w1 := startWorker(t, append(workerEnv, "DOCSTRANGE_WORKER_ID=leaving", "DOCSTRANGE_SLOTS=1", "DOCSTRANGE_LEASE_TTL=60s")...)
		job := s.submitOK("long.pdf", makePDF(600), nil)
		waitRunning(t, s, job.JobID)
		w1.signal(syscall.SIGINT)
		// With a 60s lease, only the hand-back lets another worker take
		// the job within the wait below.
		startWorker(t, append(workerEnv, "DOCSTRANGE_WORKER_ID=taker", "DOCSTRANGE_LEASE_TTL=60s")...)
		if j := s.waitFor(job.JobID, 45*time.Second); j.Status != "succeeded" {
			t.Fatalf("after SIGINT: %+v", j)
		}
	})
}

// waitRunning waits until the job is running with some pages done.
func waitRunning(t *testing.T, s *stack, id string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var j api.Job
		s.get("/api/v1/jobs/"+id).json(t, &j)
		if j.Status == "running" && j.Progress.PagesDone > 0 {
			return
		}
		if j.Status != "queued" && j.Status != "running" {
			t.Fatalf("job %s ended before the worker was stopped: %+v", id, j)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("job %s never ran", id)
}

// TestWorkerHandsBackPlacedJobs: a worker taking placed jobs (-queue
// assigned) stopped with SIGINT, as a scale-down stops it, puts every job
// placed on it back on the main queue, the running one and those not yet
// started, so the scheduler places them again at once rather than after
// the worker has been gone from Consul for -dead-after.
func TestWorkerHandsBackPlacedJobs(t *testing.T) {
	srv := redistest.Start(t)
	blobs := t.TempDir()
	shared := []string{"DOCSTRANGE_REDIS_ADDR=" + srv.Addr(), "DOCSTRANGE_REDIS_PREFIX=hb:", "DOCSTRANGE_BLOB_DIR=" + blobs}
	s := startStack(t, append([]string{"DOCSTRANGE_STORE=redis", testPepper, "DOCSTRANGE_WORKERS=-1"}, shared...)...)
	rs, err := redisstore.New(t.Context(), redisstore.Config{Addr: srv.Addr(), Prefix: "hb:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	own, err := rs.Queue(t.Context(), "hb-1")
	if err != nil {
		t.Fatal(err)
	}
	// What a scheduler does: take each job off the main queue and place
	// it on the worker's own.
	var ids []string
	for i := range 3 {
		id := s.submitOK(fmt.Sprintf("long-%d.pdf", i), makePDF(1200+i), nil).JobID
		l, err := rs.Claim(t.Context(), "scheduler", time.Minute)
		if err != nil || l.JobID != id {
			t.Fatalf("claim: %+v %v", l, err)
		}
		if err := own.Enqueue(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		if err := rs.Ack(t.Context(), l); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	w := startWorker(t, append(shared, "DOCSTRANGE_QUEUE=assigned", "DOCSTRANGE_WORKER_ID=hb-1", "DOCSTRANGE_SLOTS=1",
		"DOCSTRANGE_CACHE_DIR="+filepath.Join(t.TempDir(), "wazero"))...)
	waitRunning(t, s, ids[0])
	w.signal(syscall.SIGINT)

	if st, err := own.Stats(t.Context()); err != nil || st.Depth+st.Leased != 0 {
		t.Fatalf("the stopped worker's queue still holds %+v (%v)", st, err)
	}
	if st, err := rs.Stats(t.Context()); err != nil || st.Depth != 3 {
		t.Fatalf("main queue after the hand-back: %+v (%v); want the 3 jobs", st, err)
	}
	for _, id := range ids {
		if j := jobRecord(s, id); j.Status != "queued" {
			t.Fatalf("job %s after the hand-back: %+v", id, j)
		}
	}
}
