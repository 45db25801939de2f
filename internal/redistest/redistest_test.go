package redistest_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/docstrange/mesh/internal/redistest"
)

// do sends one inline command and returns the first reply line.
func do(t *testing.T, addr, cmd string) (string, error) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(conn, "%s\r\n", cmd); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "$") && line != "$-1" {
		body, err := r.ReadString('\n')
		return strings.TrimSpace(body), err
	}
	return line, nil
}

func TestServer(t *testing.T) {
	tests := []struct {
		name        string
		opts        []redistest.Option
		wantSurvive bool
	}{
		{name: "aof keeps writes across SIGKILL", opts: []redistest.Option{redistest.WithAOF()}, wantSurvive: true},
		{name: "without aof a SIGKILL loses writes", wantSurvive: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := redistest.Start(t, tt.opts...)
			if got, err := do(t, s.Addr(), "SET k v"); err != nil || got != "+OK" {
				t.Fatalf("SET = %q, %v; want +OK", got, err)
			}

			s.Kill()
			if _, err := do(t, s.Addr(), "PING"); err == nil {
				t.Fatal("server still answers after Kill")
			}

			s.Restart()
			got, err := do(t, s.Addr(), "GET k")
			if err != nil {
				t.Fatalf("GET after restart: %v", err)
			}
			if survived := got == "v"; survived != tt.wantSurvive {
				t.Fatalf("GET after restart = %q; want survived=%v", got, tt.wantSurvive)
			}
		})
	}
}

func TestServersAreIsolated(t *testing.T) {
	a, b := redistest.Start(t), redistest.Start(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("both servers on %s", a.Addr())
	}
	if got, err := do(t, a.Addr(), "SET only-a 1"); err != nil || got != "+OK" {
		t.Fatalf("SET = %q, %v", got, err)
	}
	if got, err := do(t, b.Addr(), "EXISTS only-a"); err != nil || got != ":0" {
		t.Fatalf("EXISTS on the other server = %q, %v; want :0", got, err)
	}
}
