package manifest

import "errors"

var (
	// ErrMissing marks a required manifest field that is empty.
	ErrMissing = errors.New("missing")
	// ErrUnsupported marks a value this loader does not understand.
	ErrUnsupported = errors.New("unsupported")
	// ErrOutOfRange marks a numeric parameter outside its valid range.
	ErrOutOfRange = errors.New("out of range")
	// ErrMismatch marks fields that contradict each other or their file.
	ErrMismatch = errors.New("mismatch")
	// ErrDuplicateTask marks two models serving the same task.
	ErrDuplicateTask = errors.New("duplicate task")
	// ErrChecksum marks a file whose SHA-256 differs from the pinned one.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrNoRepoRoot is returned by DefaultDir when no go.mod is found above
	// the working directory and DOCSTRANGE_MODELS_DIR is unset.
	ErrNoRepoRoot = errors.New("no go.mod above the working directory")
)
