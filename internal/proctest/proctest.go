// Package proctest holds what the test harnesses that start real processes
// (redistest, s3test, the e2e edge) share: a free port and a log buffer the
// process's output goroutines and the test can use at once.
package proctest

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"testing"
)

// FreePort asks the kernel for an unused 127.0.0.1 port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreePorts finds n distinct free 127.0.0.1 ports for an agent that needs
// several, failing the test when it cannot. Every port stays bound until
// all are chosen: released one by one, the kernel may hand the same port
// out twice (a Caddy once got its admin and HTTP listeners on one port).
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("finding a free port: %v", err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports
}

// Log collects a process's output; the test reads it while the process
// still writes, without a data race.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything written so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
