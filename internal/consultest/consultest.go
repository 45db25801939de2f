// Package consultest starts a real Consul dev agent for tests, on free
// loopback ports with its own data folder, stopped in t.Cleanup. The binary
// comes from scripts/hashistack.sh (make test-deps builds it), or from
// CONSUL_BIN.
package consultest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"

	"github.com/docstrange/mesh/internal/proctest"
)

// Agent is a running Consul dev agent.
type Agent struct {
	// Addr is the HTTP API's host:port.
	Addr string
	cmd  *exec.Cmd
	logs *proctest.Log
}

// Start runs a dev agent and waits until it has a leader.
func Start(t testing.TB) *Agent {
	t.Helper()
	dir := t.TempDir()
	ports := proctest.FreePorts(t, 6)
	cfg := fmt.Sprintf(`data_dir = %q
log_level = "WARN"
disable_update_check = true
ports {
  http = %d
  dns = %d
  server = %d
  serf_lan = %d
  serf_wan = %d
  grpc = %d
  grpc_tls = -1
}
`, filepath.Join(dir, "data"), ports[0], ports[1], ports[2], ports[3], ports[4], ports[5])
	if err := os.WriteFile(filepath.Join(dir, "consul.hcl"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	a := &Agent{Addr: fmt.Sprintf("127.0.0.1:%d", ports[0]), logs: &proctest.Log{}}
	a.cmd = exec.Command(proctest.Hashistack(t, "consul", "CONSUL_BIN"), "agent", "-dev", "-bind", "127.0.0.1", "-client", "127.0.0.1", "-config-file", filepath.Join(dir, "consul.hcl"))
	a.cmd.Stdout, a.cmd.Stderr = a.logs, a.logs
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("consultest: starting consul: %v", err)
	}
	t.Cleanup(func() {
		a.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { a.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			a.cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("consul log:\n%s", a.logs.String())
		}
	})
	client := a.Client(t)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if leader, err := client.Status().Leader(); err == nil && leader != "" {
			return a
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("consultest: no leader after 60s:\n%s", a.logs.String())
	return nil
}

// Client is an API client for the agent.
func (a *Agent) Client(t testing.TB) *consul.Client {
	t.Helper()
	cfg := consul.DefaultConfig()
	cfg.Address = a.Addr
	c, err := consul.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
