// Package redistest starts real redis-server processes for tests: each on a
// free 127.0.0.1 port with its own data folder, stopped in t.Cleanup. Tests of
// Redis-backed packages use it instead of fakes (STYLE.md, Tests).
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docstrange/mesh/internal/proctest"
)

// binary is the server executable looked up on PATH.
const binary = "redis-server"

// startTimeout bounds how long a start or restart may take to answer PING,
// AOF replay included.
const startTimeout = 15 * time.Second

// Option changes how Start runs the server.
type Option func(*config)

type config struct {
	aof  bool
	args []string
}

// WithAOF turns on the append-only file with fsync on every write, so that
// every acknowledged write survives Kill and Restart.
func WithAOF() Option {
	return func(c *config) { c.aof = true }
}

// WithArgs appends raw redis-server arguments, such as "--maxmemory", "10mb".
func WithArgs(args ...string) Option {
	return func(c *config) { c.args = append(c.args, args...) }
}

// Server is one redis-server process owned by a test.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	args []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	log  *proctest.Log
}

// Start launches redis-server on a free port and waits until it answers PING.
// It calls t.Fatal when the binary is missing: `make test` installs it, and a
// silent skip would hide that the Redis backend went untested.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	bin, err := exec.LookPath(binary)
	if err != nil {
		t.Fatalf("redistest: %s not found on PATH (%v); `make test` installs it", binary, err)
	}
	var c config
	for _, o := range opts {
		o(&c)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	s.args = []string{"--bind", "127.0.0.1", "--dir", s.dir, "--save", "", "--daemonize", "no", "--logfile", ""}
	if c.aof {
		s.args = append(s.args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		s.args = append(s.args, "--appendonly", "no")
	}
	s.args = append(s.args, c.args...)
	t.Cleanup(s.stop)

	// Another process may take the free port between probing and binding;
	// try a few ports before giving up.
	for attempt := 0; ; attempt++ {
		s.port, err = proctest.FreePort()
		if err == nil {
			err = s.launch()
		}
		if err == nil {
			return s
		}
		if attempt == 2 {
			t.Fatalf("redistest: starting %s: %v", binary, err)
		}
	}
}

// Addr is the host:port clients dial.
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// Dir is the server's data folder, which holds the AOF.
func (s *Server) Dir() string { return s.dir }

// Kill sends SIGKILL, as a crash or power loss would, and waits for the
// process to exit. Nothing is flushed beyond what the server already wrote.
func (s *Server) Kill() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.t.Fatal("redistest: Kill of a server that is not running")
	}
	if err := s.cmd.Process.Kill(); err != nil {
		s.t.Fatalf("redistest: killing redis-server: %v", err)
	}
	<-s.done
	s.cmd = nil
}

// Restart starts the server again on the same port and data folder, so that
// it replays its AOF, and waits until it answers PING.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	running := s.cmd != nil
	s.mu.Unlock()
	if running {
		s.Kill()
	}
	if err := s.launch(); err != nil {
		s.t.Fatalf("redistest: restarting redis-server: %v", err)
	}
}

// launch starts the process on s.port and waits for PING.
func (s *Server) launch() error {
	log := &proctest.Log{}
	args := append([]string{"--port", strconv.Itoa(s.port)}, s.args...)
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	cmd.Stdout = log
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting process: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit status of a killed server says nothing
		close(done)
	}()

	deadline := time.Now().Add(startTimeout)
	for {
		if ping(s.Addr()) == nil {
			break
		}
		select {
		case <-done:
			return fmt.Errorf("redis-server exited early:\n%s", log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("redis-server did not answer PING within %s:\n%s", startTimeout, log.String())
		}
	}
	s.mu.Lock()
	s.cmd, s.done, s.log = cmd, done, log
	s.mu.Unlock()
	return nil
}

// stop ends the process at cleanup. SIGKILL is enough: the data folder is a
// t.TempDir that is removed next.
func (s *Server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
	if s.t.Failed() && s.log != nil {
		s.t.Logf("redis-server log:\n%s", s.log.String())
	}
}

// ping speaks just enough RESP to see +PONG; a server still replaying its
// AOF answers -LOADING, which counts as not ready.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", strings.TrimSpace(line))
	}
	return nil
}
