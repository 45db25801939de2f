package manifest

import (
	"fmt"
	"os"
	"path/filepath"
)

// EnvDir names the environment variable that overrides the model folder.
const EnvDir = "DOCSTRANGE_MODELS_DIR"

// DefaultDir returns $DOCSTRANGE_MODELS_DIR, or .cache/models under the
// repository root found by walking up from the working directory to go.mod;
// this is where scripts/models.sh puts the files.
func DefaultDir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return d, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".cache", "models"), nil
}

// RepoRoot returns the nearest folder at or above the working directory that
// holds go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("finding repository root: %w", ErrNoRepoRoot)
		}
		dir = parent
	}
}
