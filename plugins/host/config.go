package host

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/docstrange/mesh/plugins"
)

// Defaults of Config.
const (
	DefaultHealthInterval    = 10 * time.Second
	DefaultHealthTimeout     = 5 * time.Second
	DefaultFailureThreshold  = 3
	DefaultRestartBackoffMin = 500 * time.Millisecond
	DefaultRestartBackoffMax = 30 * time.Second
	DefaultMaxRetries        = 2
	DefaultDrainTimeout      = 5 * time.Minute
	DefaultStartTimeout      = time.Minute
	DefaultSettleDelay       = time.Second
)

// Config says where backends live and how the host supervises them.
type Config struct {
	// Dir holds one entry per backend, named after it: either an
	// executable file, replaced by renaming a new one over it, or a folder
	// whose newest executable (by modification time, ties broken by name)
	// is the backend; hidden files are ignored. Required.
	Dir string `json:"dir,omitempty"`
	// Backends pins settings per backend name. A name here that is not in
	// Dir fails Start. Default: none.
	Backends map[string]BackendConfig `json:"backends,omitempty"`
	// APIVersions are the contract versions the host speaks. Default:
	// plugins.SupportedAPIVersions().
	APIVersions []string `json:"api_versions,omitempty"`
	// HealthInterval is the time between health checks of each backend.
	// Default: 10s.
	HealthInterval caddy.Duration `json:"health_interval,omitempty"`
	// HealthTimeout bounds one health check. Default: 5s.
	HealthTimeout caddy.Duration `json:"health_timeout,omitempty"`
	// FailureThreshold is how many health checks in a row must fail before
	// the backend is restarted. Default: 3.
	FailureThreshold int `json:"failure_threshold,omitempty"`
	// RestartBackoffMin is the wait before the first restart after a crash;
	// it doubles with each crash in a row up to RestartBackoffMax. A
	// backend that ran longer than RestartBackoffMax starts again from
	// RestartBackoffMin. Default: 500ms.
	RestartBackoffMin caddy.Duration `json:"restart_backoff_min,omitempty"`
	// RestartBackoffMax caps the wait between restarts. Default: 30s.
	RestartBackoffMax caddy.Duration `json:"restart_backoff_max,omitempty"`
	// MaxRetries is how many times one Process call is retried on a
	// restarted or swapped-in process after its process died. Default: 2.
	MaxRetries int `json:"max_retries,omitempty"`
	// DrainTimeout bounds how long a swapped-out process may finish its
	// in-flight calls before it is stopped; calls still running then are
	// retried on the new process. Default: 5m.
	DrainTimeout caddy.Duration `json:"drain_timeout,omitempty"`
	// StartTimeout bounds starting one backend process up to its
	// handshake. Default: 1m.
	StartTimeout caddy.Duration `json:"start_timeout,omitempty"`
	// SettleDelay is how long a backend's entry in Dir must stay unchanged
	// after a file event before the host swaps to it. Default: 1s.
	SettleDelay caddy.Duration `json:"settle_delay,omitempty"`
	// DisableWatch turns off swapping on file changes in Dir; Reload still
	// works. Default: false (watching).
	DisableWatch bool `json:"disable_watch,omitempty"`
}

// BackendConfig holds the settings of one backend.
type BackendConfig struct {
	// SHA256 pins the hex-encoded SHA-256 of the backend's binary. A binary
	// that does not match is refused, at start, restart and swap. Default:
	// not pinned.
	SHA256 string `json:"sha256,omitempty"`
	// Args are passed to the binary. Default: none.
	Args []string `json:"args,omitempty"`
	// Env is added to the host's environment for the binary, as KEY=value.
	// Default: none.
	Env []string `json:"env,omitempty"`
}

// withDefaults validates c and fills in its defaults.
func (c Config) withDefaults() (Config, error) {
	if c.Dir == "" {
		return c, fmt.Errorf("dir: required")
	}
	if len(c.APIVersions) == 0 {
		c.APIVersions = plugins.SupportedAPIVersions()
	}
	durations := []struct {
		name string
		v    *caddy.Duration
		def  time.Duration
	}{
		{"health_interval", &c.HealthInterval, DefaultHealthInterval},
		{"health_timeout", &c.HealthTimeout, DefaultHealthTimeout},
		{"restart_backoff_min", &c.RestartBackoffMin, DefaultRestartBackoffMin},
		{"restart_backoff_max", &c.RestartBackoffMax, DefaultRestartBackoffMax},
		{"drain_timeout", &c.DrainTimeout, DefaultDrainTimeout},
		{"start_timeout", &c.StartTimeout, DefaultStartTimeout},
		{"settle_delay", &c.SettleDelay, DefaultSettleDelay},
	}
	for _, d := range durations {
		switch {
		case *d.v == 0:
			*d.v = caddy.Duration(d.def)
		case *d.v < 0:
			return c, fmt.Errorf("%s %s: must not be negative", d.name, time.Duration(*d.v))
		}
	}
	if c.FailureThreshold == 0 {
		c.FailureThreshold = DefaultFailureThreshold
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	switch {
	case c.FailureThreshold < 0:
		return c, fmt.Errorf("failure_threshold %d: must not be negative", c.FailureThreshold)
	case c.MaxRetries < 0:
		return c, fmt.Errorf("max_retries %d: must not be negative", c.MaxRetries)
	case c.RestartBackoffMax < c.RestartBackoffMin:
		return c, fmt.Errorf("restart_backoff_max %s: must not be below restart_backoff_min %s",
			time.Duration(c.RestartBackoffMax), time.Duration(c.RestartBackoffMin))
	}
	for name, bc := range c.Backends {
		if !validName(name) {
			return c, fmt.Errorf("backends: name %q: must be letters, digits, '.', '_' or '-' and not start with '.'", name)
		}
		if bc.SHA256 != "" {
			if b, err := hex.DecodeString(bc.SHA256); err != nil || len(b) != 32 {
				return c, fmt.Errorf("backends: %s: sha256 %q: must be 64 hex digits", name, bc.SHA256)
			}
		}
	}
	return c, nil
}

// validName reports whether name may name a backend: it becomes a file
// name and a metric label.
func validName(name string) bool {
	if name == "" || name[0] == '.' {
		return false
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}
