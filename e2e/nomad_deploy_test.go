package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/internal/redistest"
	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/redisstore"
)

// deployment is the nomad/ specs running on a dev cluster under raw_exec.
type deployment struct {
	t      *testing.T
	c      *cluster
	nomad  *nomadapi.Client
	consul *consul.Client
	// edges are the edge allocations' APIs, all with one enterprise key.
	edges []*stack
	// store reads job records as the cluster keeps them, for what the API
	// does not show (the worker allocation a job was placed on).
	store *redisstore.Store
}

// record reads a job's record from Redis.
func (d *deployment) record(id string) *scheduler.Job {
	d.t.Helper()
	j, err := d.store.Get(d.t.Context(), id)
	if err != nil {
		d.t.Fatalf("job record %s: %v", id, err)
	}
	return j
}

// deployBinDir lays out what the specs' bin_dir holds: the three binaries,
// the edge's Caddyfile and backends/onnx.
func deployBinDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	links := map[string]string{
		"docstrange-edge":      edgeBin,
		"docstrange-worker":    buildCmd(t, "docstrange-worker"),
		"docstrange-scheduler": buildCmd(t, "docstrange-scheduler"),
		"backends":             backendsDir,
	}
	caddyfile, err := filepath.Abs("../edge/Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	links["Caddyfile"] = caddyfile
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func (c *cluster) envValue(name string) string {
	for _, kv := range c.env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// runSpec submits a job spec with variables and returns at once; the test
// waits on Consul health for what it needs.
func (d *deployment) runSpec(spec string, vars map[string]string) {
	d.t.Helper()
	args := []string{"job", "run", "-detach"}
	for k, v := range vars {
		args = append(args, "-var", k+"="+v)
	}
	if out, code := d.c.nomadCmd(append(args, "../nomad/jobs/"+spec)...); code != 0 {
		d.t.Fatalf("nomad job run %s: exit %d\n%s", spec, code, out)
	}
}

// passing lists a service's instances whose checks all pass.
func (d *deployment) passing(service string) []*consul.ServiceEntry {
	d.t.Helper()
	es, _, err := d.consul.Health().Service(service, "", true, nil)
	if err != nil {
		d.t.Fatalf("consul health of %s: %v", service, err)
	}
	return es
}

func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// health reads a worker's or scheduler's /health.
func health(t *testing.T, e *consul.ServiceEntry) map[string]any {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://%s:%d/health", e.Service.Address, e.Service.Port))
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return out
}

// groupCount is a task group's count in the registered job.
func (d *deployment) groupCount(job, group string) int {
	d.t.Helper()
	j, _, err := d.nomad.Jobs().Info(job, nil)
	if err != nil {
		d.t.Fatalf("nomad job %s: %v", job, err)
	}
	for _, tg := range j.TaskGroups {
		if *tg.Name == group {
			return *tg.Count
		}
	}
	d.t.Fatalf("job %s has no group %s", job, group)
	return 0
}

// scaleEvents are the messages of a group's scaling events, newest first.
func (d *deployment) scaleEvents(job, group string) []string {
	d.t.Helper()
	st, _, err := d.nomad.Jobs().ScaleStatus(job, nil)
	if err != nil {
		d.t.Fatalf("nomad scale status %s: %v", job, err)
	}
	var out []string
	for _, e := range st.TaskGroups[group].Events {
		out = append(out, e.Message)
	}
	return out
}

// alloc reads an allocation.
func (d *deployment) alloc(id string) *nomadapi.Allocation {
	d.t.Helper()
	a, _, err := d.nomad.Allocations().Info(id, nil)
	if err != nil {
		d.t.Fatalf("nomad alloc %s: %v", id, err)
	}
	return a
}

// finishedLogLines counts, per job id, the "job finished" lines with status
// succeeded in every worker task's log files, read from the allocation
// folders of both Nomad clients (every run of a restarted task, and
// allocations a scale-down stopped, included).
func (d *deployment) finishedLogLines() map[string]int {
	d.t.Helper()
	files, err := filepath.Glob(filepath.Join(d.c.dir, "nomad*", "alloc", "*", "alloc", "logs", "worker.stderr.*"))
	if err != nil || len(files) == 0 {
		d.t.Fatalf("no worker log files under %s: %v", d.c.dir, err)
	}
	out := map[string]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			d.t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			var l struct {
				Msg    string `json:"msg"`
				Status string `json:"status"`
				JobID  string `json:"job_id"`
			}
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "job finished" && l.Status == "succeeded" {
				out[l.JobID]++
			}
		}
	}
	return out
}

// deploy starts the cluster, Redis and the three specs: two edges, two
// schedulers (autoscaling with short timers) and one CPU worker; the GPU
// group starts at 0 and grows when a GPU job waits.
func deploy(t *testing.T) *deployment {
	t.Helper()
	// Runs last, after the cluster is down: no task may outlive it.
	var bin string
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for {
			out, _ := exec.Command("pgrep", "-f", bin+"/docstrange-").Output()
			if len(strings.TrimSpace(string(out))) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("processes of the deployment outlived the cluster: %s", out)
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	c := startCluster(t)
	srv := redistest.Start(t)
	bin = deployBinDir(t)
	blobs := t.TempDir()
	models := os.Getenv("DOCSTRANGE_MODELS_DIR")
	if models == "" {
		models, _ = filepath.Abs("../.cache/models")
	}
	ncfg := nomadapi.DefaultConfig()
	ncfg.Address = c.envValue("NOMAD_ADDR")
	nc, err := nomadapi.NewClient(ncfg)
	if err != nil {
		t.Fatal(err)
	}
	ccfg := consul.DefaultConfig()
	ccfg.Address = c.envValue("CONSUL_HTTP_ADDR")
	cc, err := consul.NewClient(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := redisstore.New(t.Context(), redisstore.Config{Addr: srv.Addr(), Prefix: "ds:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	d := &deployment{t: t, c: c, nomad: nc, consul: cc, store: rs}
	t.Cleanup(func() {
		if t.Failed() {
			for _, job := range []string{"docstrange-scheduler", "docstrange-worker", "docstrange-edge"} {
				allocs, _, _ := nc.Jobs().Allocations(job, true, nil)
				for _, a := range allocs {
					task := strings.TrimPrefix(job, "docstrange-")
					logs, _ := c.nomadCmd("alloc", "logs", "-stderr", a.ID, task)
					t.Logf("%s alloc %s (%s, %s):\n%s", job, a.ID, a.TaskGroup, a.ClientStatus, tail(logs, 3000))
				}
			}
		}
		// Stop the jobs before the cluster goes, so no task outlives it.
		for _, job := range []string{"docstrange-edge", "docstrange-scheduler", "docstrange-worker"} {
			c.nomadCmd("job", "stop", "-purge", job)
		}
	})
	if out, code := c.nomadCmd("var", "put", "nomad/jobs/docstrange-edge", "key_pepper=e2e-nomad-pepper-0123456789abcdef", "admin_token="+adminToken); code != 0 {
		t.Fatalf("nomad var put: exit %d\n%s", code, out)
	}
	common := map[string]string{"driver": "raw_exec", "bin_dir": bin, "redis_addr": srv.Addr()}
	with := func(extra map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range common {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	d.runSpec("worker.nomad.hcl", with(map[string]string{
		"models_dir": models, "blob_dir": blobs, "gpu_device": "nomad/file/mock", "lease_ttl": "3s",
		"cpu_count": "1", "gpu_count": "0", "cpu_max": "3", "gpu_max": "1", "cpu_slots": "2", "gpu_slots": "2",
		"cpu_mhz": "100", "memory_mb": "256",
	}))
	d.runSpec("scheduler.nomad.hcl", with(map[string]string{
		"consul_addr": c.envValue("CONSUL_HTTP_ADDR"), "nomad_addr": c.envValue("NOMAD_ADDR"),
		"scale_groups": "cpu:2,gpu:2", "scale_cooldown": "2s", "scale_down_after": "8s", "dead_after": "5s",
		"cpu": "100", "memory": "128",
	}))
	d.runSpec("edge.nomad.hcl", with(map[string]string{"blob_dir": blobs, "count": "2", "cpu": "100", "memory": "256"}))

	waitUntil(t, 3*time.Minute, "2 edges, 2 schedulers and a CPU worker passing their checks", func() bool {
		return len(d.passing("docstrange-edge")) == 2 && len(d.passing("docstrange-scheduler")) == 2 && len(d.passing("docstrange-worker")) >= 1
	})
	allocs, _, err := nc.Jobs().Allocations("docstrange-edge", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range allocs {
		if a.ClientStatus != nomadapi.AllocClientStatusRunning {
			continue
		}
		full := d.alloc(a.ID)
		s := &stack{t: t}
		for _, p := range full.AllocatedResources.Shared.Ports {
			switch p.Label {
			case "http":
				s.base = fmt.Sprintf("http://127.0.0.1:%d", p.Value)
			case "admin":
				s.admin = fmt.Sprintf("http://127.0.0.1:%d", p.Value)
			}
		}
		d.edges = append(d.edges, s)
	}
	if len(d.edges) != 2 {
		t.Fatalf("%d running edge allocations, want 2", len(d.edges))
	}
	// Keys live in Redis: one issued on the first edge works on both.
	key := d.edges[0].issueKey("nomad-e2e", "enterprise").Key
	for _, s := range d.edges {
		s.key = key
	}
	return d
}

// jobRecord reads a job through the API.
func jobRecord(s *stack, id string) api.Job {
	s.t.Helper()
	var j api.Job
	s.get("/api/v1/jobs/"+id).json(s.t, &j)
	return j
}

// TestNomadDeploy deploys nomad/jobs under Nomad (raw_exec, the project's
// binaries) next to Consul and Redis, then: a GPU job waits with a reason
// while no GPU worker is healthy, makes the autoscaler grow the GPU group
// from 0, and runs on the GPU node only; 50 documents through both edges
// all succeed, exactly once each, although one worker is killed with -9
// mid-job (its lease runs out and the job runs again) and the deep queue
// scales the CPU group up, then back down once idle; the leading scheduler
// killed with -9 is replaced by the standby within 15s and jobs keep
// flowing; a running job canceled stops on its worker within 2s.
func TestNomadDeploy(t *testing.T) {
	if testing.Short() {
		t.Skip("deploys a Nomad cluster")
	}
	d := deploy(t)
	e0, e1 := d.edges[0], d.edges[1]

	t.Run("gpu job waits, scales the gpu group from 0 and runs on the gpu node", func(t *testing.T) {
		j := e0.submitOK("gpu.pdf", makePDF(3), map[string]string{"device": "gpu"})
		waitUntil(t, 30*time.Second, "the GPU job's waiting reason", func() bool {
			got := jobRecord(e0, j.JobID)
			return got.Status == "succeeded" || got.WaitingReason == "no healthy GPU worker"
		})
		done := e0.waitFor(j.JobID, 3*time.Minute)
		if done.Status != "succeeded" || done.Device != "gpu" {
			t.Fatalf("gpu job: %+v", done)
		}
		if a := d.alloc(d.record(j.JobID).Worker); a.TaskGroup != "gpu" || a.NodeName != "gpu-1" {
			t.Fatalf("the gpu job ran on alloc %s of group %s on node %s", a.ID, a.TaskGroup, a.NodeName)
		}
		if ev := d.scaleEvents("docstrange-worker", "gpu"); len(ev) == 0 || !strings.Contains(ev[0], "waiting") {
			t.Fatalf("gpu scaling events: %q", ev)
		}
	})

	t.Run("50 documents survive a worker killed mid-job; the cpu group scales up and down", func(t *testing.T) {
		ids := make([]string, 50)
		for i := range ids {
			s := e0
			if i%2 == 1 {
				s = e1
			}
			// Distinct documents (no dedupe), long enough to be caught
			// running.
			ids[i] = s.submitOK(fmt.Sprintf("doc-%d.pdf", i), makePDF(150+i), map[string]string{"device": "cpu"}).JobID
		}
		// Kill the worker running a job, once some have finished.
		var victim string
		var victimJob string
		waitUntil(t, 2*time.Minute, "a job running on a CPU worker", func() bool {
			for _, id := range ids {
				if j := d.record(id); j.Status == "running" && j.Worker != "" {
					victim, victimJob = j.Worker, id
					return true
				}
			}
			return false
		})
		killed := false
		for _, e := range d.passing("docstrange-worker") {
			if e.Service.Meta["alloc_id"] != victim {
				continue
			}
			h := health(t, e)
			pid, _ := h["pid"].(float64)
			if pid <= 0 {
				t.Fatalf("worker /health without a pid: %v", h)
			}
			if err := syscall.Kill(int(pid), syscall.SIGKILL); err != nil {
				t.Fatalf("kill -9 %v: %v", pid, err)
			}
			killed = true
		}
		if !killed {
			t.Fatalf("worker %s of job %s is not in Consul", victim, victimJob)
		}
		for _, id := range ids {
			if j := e1.waitFor(id, 4*time.Minute); j.Status != "succeeded" {
				t.Fatalf("job %s: %+v (error %+v)", id, j, j.Error)
			}
		}
		if j := jobRecord(e0, victimJob); j.Attempts < 2 {
			t.Errorf("the job running on the killed worker has attempts %d; its lease expiry should have made it run again", j.Attempts)
		}
		// Nomad's log collector writes a task's output to its files a
		// moment later: wait until every job's line is there (or 20s).
		var counts map[string]int
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(500 * time.Millisecond) {
			counts = d.finishedLogLines()
			all := true
			for _, id := range ids {
				all = all && counts[id] > 0
			}
			if all || time.Now().After(deadline) {
				break
			}
		}
		for _, id := range ids {
			if counts[id] != 1 {
				r := d.record(id)
				files, _ := filepath.Glob(filepath.Join(d.c.dir, "nomad*", "alloc", r.Worker, "alloc", "logs", "worker.std*.*"))
				var mentions []string
				for _, f := range files {
					b, _ := os.ReadFile(f)
					lines := strings.Split(strings.TrimSpace(string(b)), "\n")
					for _, line := range lines {
						if strings.Contains(line, id) {
							mentions = append(mentions, filepath.Base(f)+": "+line)
						}
					}
					mentions = append(mentions, filepath.Base(f)+" ends with: "+strings.Join(lines[max(0, len(lines)-3):], "\n"))
				}
				t.Errorf("job %s finished %d times in the workers' logs, want once; record: worker %s attempts %d status %s; lines naming it:\n%s",
					id, counts[id], r.Worker, r.Attempts, r.Status, strings.Join(mentions, "\n"))
			}
		}
		if ev := d.scaleEvents("docstrange-worker", "cpu"); len(ev) == 0 {
			t.Error("the deep queue did not scale the cpu group")
		} else {
			t.Logf("cpu scaling events: %q", ev)
		}
		waitUntil(t, time.Minute, "the idle cpu group back at its minimum", func() bool {
			return d.groupCount("docstrange-worker", "cpu") == 1
		})
		if ev := d.scaleEvents("docstrange-worker", "cpu"); !strings.Contains(ev[0], "→1") {
			t.Errorf("the last cpu scaling event is %q, want the scale down to 1", ev[0])
		}
	})

	t.Run("the standby takes over from a killed leader", func(t *testing.T) {
		// Every registered replica, read directly: a check that failed for
		// a moment on this busy machine must not hide one.
		var leader, standby *consul.ServiceEntry
		var seen []string
		for deadline := time.Now().Add(30 * time.Second); leader == nil || standby == nil; time.Sleep(250 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no leading and standing-by scheduler after 30s; last seen:\n%s", strings.Join(seen, "\n"))
			}
			leader, standby, seen = nil, nil, nil
			es, _, err := d.consul.Health().Service("docstrange-scheduler", "", false, nil)
			if err != nil {
				seen = append(seen, err.Error())
				continue
			}
			for _, e := range es {
				h := health(t, e)
				seen = append(seen, fmt.Sprintf("%s %s:%d checks %s: %v", e.Service.ID, e.Service.Address, e.Service.Port, e.Checks.AggregatedStatus(), h))
				switch {
				case h["error"] != nil:
				case h["leader"] == true:
					leader = e
				default:
					standby = e
				}
			}
		}
		pid, _ := health(t, leader)["pid"].(float64)
		if err := syscall.Kill(int(pid), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		killedAt := time.Now()
		waitUntil(t, 15*time.Second, "the standby leading", func() bool { return health(t, standby)["leader"] == true })
		t.Logf("the standby leads %s after the kill", time.Since(killedAt).Round(time.Millisecond))
		for i := range 5 {
			id := e1.submitOK(fmt.Sprintf("after-%d.pdf", i), makePDF(2+i), nil).JobID
			if j := e0.waitFor(id, time.Minute); j.Status != "succeeded" {
				t.Fatalf("job after the failover: %+v", j)
			}
		}
	})

	t.Run("cancel stops the running job on its worker within 2s", func(t *testing.T) {
		id := e0.submitOK("long.pdf", makePDF(1900), nil).JobID
		deadline := time.Now().Add(2 * time.Minute)
		for {
			j := jobRecord(e0, id)
			if j.Status == "running" && j.Progress.PagesDone > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the long job is not running after 2 min: %+v; record %+v", j, d.record(id))
			}
			time.Sleep(100 * time.Millisecond)
		}
		asked := time.Now()
		if r := e1.delete("/api/v1/jobs/" + id); r.status != http.StatusAccepted && r.status != http.StatusOK {
			t.Fatalf("cancel: %d %s", r.status, r.body)
		}
		j := e0.waitFor(id, 10*time.Second)
		stopped := time.Since(asked)
		if j.Status != "canceled" || j.StartedAt.IsZero() || j.Progress.PagesDone >= 1900 || d.record(id).Worker == "" {
			t.Fatalf("after cancel: %+v; want a job canceled part way on a worker", j)
		}
		if stopped > 2*time.Second {
			t.Fatalf("the worker stopped %s after the cancel, want within 2s", stopped)
		}
		t.Logf("canceled on its worker %s after the request", stopped.Round(time.Millisecond))
	})
}
