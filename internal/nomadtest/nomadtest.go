// Package nomadtest starts a real Nomad dev agent (server and client, with
// raw_exec) for tests, on free loopback ports with its own data folder,
// stopped in t.Cleanup. The binary comes from scripts/hashistack.sh (make
// test-deps builds it), or from NOMAD_BIN.
package nomadtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/docstrange/mesh/internal/proctest"
)

// Agent is a running Nomad dev agent.
type Agent struct {
	// Addr is the HTTP API's address, http://127.0.0.1:port.
	Addr string
	cmd  *exec.Cmd
	logs *proctest.Log
}

// Start runs a dev agent and waits until it has a leader and its node is
// ready to run raw_exec tasks. Cleanup purges every job and waits for their
// tasks to stop before it stops the agent: a dev agent that exits cleanly
// stops its tasks too, but one that has to be killed leaves them running
// (Nomad's executors outlive their client by design).
func Start(t testing.TB) *Agent {
	t.Helper()
	// Not t.TempDir: its long name pushes each task's api.sock past the
	// 108-byte limit of a unix socket path, and Nomad warns per task.
	dir, err := os.MkdirTemp("", "nomadtest")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ports := proctest.FreePorts(t, 4)
	for _, sub := range []string{"data", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// Consul points at a port nobody listens on and advertises nothing: a
	// developer's own Consul on 8500 must not get this agent's services.
	cfg := fmt.Sprintf(`data_dir = %q
name = "nomadtest"
log_level = "WARN"
bind_addr = "127.0.0.1"
disable_update_check = true
ports {
  http = %d
  rpc  = %d
  serf = %d
}
consul {
  address          = "127.0.0.1:%d"
  auto_advertise   = false
  server_auto_join = false
  client_auto_join = false
}
plugin "raw_exec" {
  config {
    enabled = true
  }
}
`, filepath.Join(dir, "data"), ports[0], ports[1], ports[2], ports[3])
	if err := os.WriteFile(filepath.Join(dir, "nomad.hcl"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	a := &Agent{Addr: fmt.Sprintf("http://127.0.0.1:%d", ports[0]), logs: &proctest.Log{}}
	a.cmd = exec.Command(proctest.Hashistack(t, "nomad", "NOMAD_BIN"), "agent", "-dev", "-bind", "127.0.0.1", "-network-interface", "lo", "-config", filepath.Join(dir, "nomad.hcl"))
	a.cmd.Env = append(os.Environ(), "TMPDIR="+filepath.Join(dir, "tmp"))
	a.cmd.Stdout, a.cmd.Stderr = a.logs, a.logs
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("nomadtest: starting nomad: %v", err)
	}
	exited := make(chan struct{})
	go func() { a.cmd.Wait(); close(exited) }()
	client := a.Client(t)
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			a.stopJobs(t, client)
			a.cmd.Process.Signal(os.Interrupt)
		}
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			a.cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("nomad log:\n%s", a.logs.String())
		}
	})
	deadline := time.After(60 * time.Second)
	for !ready(client) {
		select {
		case <-exited:
			t.Fatalf("nomadtest: nomad exited: %v\n%s", a.cmd.ProcessState, a.logs.String())
		case <-deadline:
			t.Fatalf("nomadtest: no ready raw_exec node after 60s:\n%s", a.logs.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return a
}

// ready reports whether the agent has a leader and a ready node with a
// healthy raw_exec driver: a job registered earlier would wait in a
// blocked evaluation for the driver's fingerprint.
func ready(client *nomadapi.Client) bool {
	if leader, err := client.Status().Leader(); err != nil || leader == "" {
		return false
	}
	nodes, _, err := client.Nodes().List(nil)
	if err != nil {
		return false
	}
	for _, n := range nodes {
		if n.Status != "ready" {
			continue
		}
		if d := n.Drivers["raw_exec"]; d != nil && d.Detected && d.Healthy {
			return true
		}
	}
	return false
}

// stopJobs purges every job and waits up to 20s for their allocations to
// end, so no task outlives the agent.
func (a *Agent) stopJobs(t testing.TB, client *nomadapi.Client) {
	jobs, _, err := client.Jobs().List(nil)
	if err != nil {
		t.Logf("nomadtest: listing jobs to stop: %v", err)
		return
	}
	for _, j := range jobs {
		if _, _, err := client.Jobs().DeregisterOpts(j.ID, &nomadapi.DeregisterOptions{Purge: true}, &nomadapi.WriteOptions{Namespace: j.Namespace}); err != nil {
			t.Logf("nomadtest: stopping job %s: %v", j.ID, err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		allocs, _, err := client.Allocations().List(&nomadapi.QueryOptions{Namespace: "*"})
		if err != nil {
			t.Logf("nomadtest: listing allocations: %v", err)
			return
		}
		live := 0
		for _, al := range allocs {
			switch al.ClientStatus {
			case nomadapi.AllocClientStatusComplete, nomadapi.AllocClientStatusFailed, nomadapi.AllocClientStatusLost:
			default:
				live++
			}
		}
		if live == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("nomadtest: allocations still running after 20s; their tasks may outlive the test")
}

// Client is an API client for the agent.
func (a *Agent) Client(t testing.TB) *nomadapi.Client {
	t.Helper()
	cfg := nomadapi.DefaultConfig()
	cfg.Address = a.Addr
	// Not the developer's cluster's namespace, region or token.
	cfg.Namespace, cfg.Region, cfg.SecretID = "", "", ""
	c, err := nomadapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
