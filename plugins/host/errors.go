package host

import (
	"errors"
	"fmt"
)

// Sentinel errors of the host.
var (
	// ErrUnknownBackend means no backend of that name is in Dir.
	ErrUnknownBackend = errors.New("unknown backend")
	// ErrNoBinary means a backend's entry in Dir holds no executable.
	ErrNoBinary = errors.New("no backend binary")
	// ErrChecksumMismatch means a binary's SHA-256 is not the pinned one.
	ErrChecksumMismatch = errors.New("backend binary checksum mismatch")
	// ErrUnhealthy means a backend started but did not report itself able
	// to serve.
	ErrUnhealthy = errors.New("backend unhealthy")
	// ErrNotRunning means a backend has no process to take work, because
	// its last start failed.
	ErrNotRunning = errors.New("backend not running")
	// ErrClosed means the host is closed.
	ErrClosed = errors.New("host closed")
)

// ChecksumError is a refused binary. It matches ErrChecksumMismatch.
type ChecksumError struct {
	Path string
	// Want is the pinned hash, Got the binary's; both hex.
	Want, Got string
}

// Error names the binary and both hashes.
func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%s: %s has sha256 %s, config pins %s", ErrChecksumMismatch, e.Path, e.Got, e.Want)
}

// Unwrap returns ErrChecksumMismatch.
func (e *ChecksumError) Unwrap() error { return ErrChecksumMismatch }
