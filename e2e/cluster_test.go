package e2e

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// clusterPorts is how many consecutive ports scripts/cluster.sh uses.
const clusterPorts = 15

// cluster is a dev Consul and Nomad (scripts/cluster.sh) for one test.
type cluster struct {
	t     *testing.T
	dir   string
	base  int
	env   []string
	nomad string
}

// freePortRun finds n consecutive free loopback ports, for the cluster's
// agents, which take their ports from one base. The run lies in
// 10000-19999, below both Nomad's dynamic port range (20000-32000, where
// the cluster's own allocations get ports) and Linux's ephemeral range
// (32768 up, where every outgoing connection on the machine takes one):
// a port free when checked there can be taken a second later, and once
// was (CI: gpu-1's Consul agent failed to bind).
func freePortRun(t *testing.T, n int) int {
	t.Helper()
	for range 50 {
		base := 10000 + rand.IntN(10000-n)
		ok := true
		for p := base; p < base+n && ok; p++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				continue
			}
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no run of free ports")
	return 0
}

// startCluster runs scripts/cluster.sh up on free ports and tears the
// cluster down at cleanup.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	// A short folder: Nomad's allocation folders go under it, and unix
	// sockets in them (the edge's Caddy admin socket) must fit in 108
	// bytes, which t.TempDir's paths do not leave room for.
	dir, err := os.MkdirTemp("", "dsc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c := &cluster{t: t, dir: dir}
	var out []byte
	// A port can still be taken between the check and the agent's bind
	// (by another process choosing fixed ports); such a start is retried
	// on a new run of ports rather than failing the test.
	for attempt := 1; ; attempt++ {
		c.base = freePortRun(t, clusterPorts)
		c.env = append(os.Environ(), "DOCSTRANGE_CLUSTER_DIR="+c.dir, "CLUSTER_PORT_BASE="+strconv.Itoa(c.base))
		out, err = c.script("up")
		if err == nil || attempt == 3 || !c.logsSay("address already in use") {
			break
		}
		t.Logf("cluster.sh up on ports from %d: a port was taken; retrying on others", c.base)
		if out, err := c.script("down"); err != nil {
			t.Logf("cluster.sh down: %v\n%s", err, out)
		}
		// So that the next attempt's failure shows its own logs only.
		for name := range c.agentLogs() {
			os.Remove(name)
		}
	}
	t.Cleanup(func() {
		if out, err := c.script("down"); err != nil {
			t.Logf("cluster.sh down: %v\n%s", err, out)
		}
	})
	if err != nil {
		for name, text := range c.agentLogs() {
			t.Logf("%s:\n%s", name, tail(text, 3000))
		}
		t.Fatalf("cluster.sh up: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "NOMAD_BIN="); ok {
			c.nomad = v
		}
		if strings.HasPrefix(line, "NOMAD_ADDR=") || strings.HasPrefix(line, "CONSUL_HTTP_ADDR=") {
			c.env = append(c.env, line)
		}
	}
	if c.nomad == "" {
		t.Fatalf("cluster.sh up printed no NOMAD_BIN:\n%s", out)
	}
	return c
}

// agentLogs reads the cluster's agent logs, by path.
func (c *cluster) agentLogs() map[string]string {
	paths, _ := filepath.Glob(filepath.Join(c.dir, "*.log"))
	logs := make(map[string]string, len(paths))
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		logs[p] = string(b)
	}
	return logs
}

// logsSay reports whether any agent log of the cluster contains s.
func (c *cluster) logsSay(s string) bool {
	for _, text := range c.agentLogs() {
		if strings.Contains(text, s) {
			return true
		}
	}
	return false
}

func (c *cluster) script(arg string) ([]byte, error) {
	cmd := exec.Command("../scripts/cluster.sh", arg)
	cmd.Env = c.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// nomadCmd runs the nomad CLI against the cluster.
func (c *cluster) nomadCmd(args ...string) (string, int) {
	cmd := exec.Command(c.nomad, args...)
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("nomad %v: %v", args, err)
	}
	return string(out), code
}

// TestNomadSpecs: every job spec in nomad/jobs passes `nomad job validate`
// and `nomad job plan` against a real dev cluster, with the dev cluster's
// variables (raw_exec, the example device plugin as the GPU), and every
// group of it can be placed.
func TestNomadSpecs(t *testing.T) {
	c := startCluster(t)
	specs, err := filepath.Glob("../nomad/jobs/*.nomad.hcl")
	if err != nil || len(specs) < 3 {
		t.Fatalf("specs: %v %v", specs, err)
	}
	vars := []string{
		"-var", "driver=raw_exec",
		"-var", "bin_dir=/opt/docstrange/bin",
	}
	extra := map[string][]string{
		"edge.nomad.hcl":   {"-var", "blob_dir=/srv/docstrange/blobs"},
		"worker.nomad.hcl": {"-var", "models_dir=/opt/docstrange/models", "-var", "gpu_device=nomad/file/mock", "-var", "blob_dir=/srv/docstrange/blobs"},
	}
	for _, spec := range specs {
		name := filepath.Base(spec)
		t.Run(name, func(t *testing.T) {
			args := append(append([]string{}, vars...), extra[name]...)
			if out, code := c.nomadCmd(append(append([]string{"job", "validate"}, args...), spec)...); code != 0 {
				t.Fatalf("nomad job validate %s: exit %d\n%s", name, code, out)
			}
			// plan exits 1 when it would create allocations, 255 on error.
			out, code := c.nomadCmd(append(append([]string{"job", "plan"}, args...), spec)...)
			if code != 0 && code != 1 {
				t.Fatalf("nomad job plan %s: exit %d\n%s", name, code, out)
			}
			if !strings.Contains(out, "All tasks successfully allocated.") {
				t.Errorf("nomad job plan %s cannot place every group:\n%s", name, out)
			}
			if !strings.Contains(out, "Job: ") {
				t.Errorf("nomad job plan %s printed no plan:\n%s", name, out)
			}
		})
	}
}

// TestClusterDownFreesPorts: down stops every agent it started, so a second
// up on the same ports works (no leaked agents holding them).
func TestClusterDownFreesPorts(t *testing.T) {
	c := startCluster(t)
	if out, err := c.script("down"); err != nil {
		t.Fatalf("down: %v\n%s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for p := c.base; p < c.base+clusterPorts; p++ {
		for {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err == nil {
				l.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("port %d still taken after cluster.sh down", p)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
