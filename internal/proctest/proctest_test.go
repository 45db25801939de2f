package proctest

import (
	"net"
	"strconv"
	"sync"
	"testing"
)

func TestFreePortIsFree(t *testing.T) {
	p, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		t.Fatalf("port %d is not free: %v", p, err)
	}
	l.Close()
}

// TestFreePortsDistinct asks for many ports at once: all must differ and
// each must be free again when FreePorts returns.
func TestFreePortsDistinct(t *testing.T) {
	for range 20 {
		ports := FreePorts(t, 16)
		seen := map[int]bool{}
		for _, p := range ports {
			if seen[p] {
				t.Fatalf("port %d handed out twice in %v", p, ports)
			}
			seen[p] = true
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				t.Fatalf("port %d is not free: %v", p, err)
			}
			l.Close()
		}
	}
}

func TestLogConcurrent(t *testing.T) {
	var l Log
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				l.Write([]byte("x"))
				_ = l.String()
			}
		})
	}
	wg.Wait()
	if got := len(l.String()); got != 800 {
		t.Fatalf("wrote 800 bytes, read %d", got)
	}
}
