//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package keys

import (
	"errors"
	"os"
)

// lockFile refuses: without flock two processes could both rewrite the key
// file and lose each other's changes, and embedded mode runs on Unix.
func lockFile(string) (*os.File, error) {
	return nil, errors.New("locking the key file is supported on Unix only")
}
