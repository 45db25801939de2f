package plugins

import "errors"

// Sentinel errors of the backend contract. They survive the plugin
// boundary: the adapters map them to gRPC status codes and back.
var (
	// ErrUnsupportedTask means the backend does not run the requested task.
	ErrUnsupportedTask = errors.New("unsupported task")
	// ErrUnavailable means the backend could not be reached, typically
	// because its process died. The call may be retried on another process.
	ErrUnavailable = errors.New("backend unavailable")
	// ErrNoCommonAPIVersion means host and plugin share no API version.
	ErrNoCommonAPIVersion = errors.New("no common backend API version")
)
