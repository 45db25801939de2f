package host_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Test backend binaries, built once by TestMain from
// plugins/internal/testbackend.
var bins struct {
	v1, v2, unhealthy string
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "testbackend-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 1
	if err := buildBackends(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func buildBackends(dir string) error {
	bins.v1 = filepath.Join(dir, "testbackend-v1")
	bins.v2 = filepath.Join(dir, "testbackend-v2")
	bins.unhealthy = filepath.Join(dir, "testbackend-unhealthy")
	builds := []struct{ out, ldflags string }{
		{bins.v1, "-X main.version=v1"},
		{bins.v2, "-X main.version=v2"},
		{bins.unhealthy, "-X main.version=v3 -X main.health=not_serving"},
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("building test backends: %w", err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, b := range builds {
		wg.Go(func() {
			cmd := exec.Command(gobin, "build", "-ldflags", b.ldflags, "-o", b.out, "github.com/docstrange/mesh/plugins/internal/testbackend")
			if out, err := cmd.CombinedOutput(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("building %s: %w\n%s", b.out, err, out))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}
