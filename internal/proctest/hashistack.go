package proctest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Hashistack finds the consul or nomad binary (name) the tests run: the
// one the environment variable env names, else the one
// scripts/hashistack.sh keeps in its cache, building it on first use.
func Hashistack(t testing.TB, name, env string) string {
	t.Helper()
	if b := os.Getenv(env); b != "" {
		return b
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "hashistack.sh")
	out, err := exec.Command(script, "path").Output()
	if err != nil {
		t.Fatalf("%s path: %v", script, err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), name)
}
