// Package host runs backend plugins as child processes: it starts each
// backend found in a folder, verifies pinned checksums, health-checks and
// restarts them, retries the work of a crashed one, and swaps in new
// versions without failing a call.
package host

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/hashicorp/go-hclog"

	"github.com/docstrange/mesh/plugins"
)

// Log keys.
const (
	LogKeyBackend    = "backend"
	LogKeyPath       = "path"
	LogKeySHA256     = "sha256"
	LogKeyVersion    = "version"
	LogKeyOldVersion = "old_version"
	LogKeyAPIVersion = "api_version"
	LogKeyPID        = "pid"
	LogKeyError      = "error"
	LogKeyDelay      = "delay"
	LogKeyAttempt    = "attempt"
	LogKeyInFlight   = "in_flight"
	LogKeyItems      = "items"
	LogKeyTrigger    = "trigger"
)

// State is where a backend is in its life.
type State string

// States of a backend.
const (
	// StateStarting: the first process is being started.
	StateStarting State = "starting"
	// StateRunning: a process takes work.
	StateRunning State = "running"
	// StateRestarting: the process died or failed its health checks and a
	// new one is on its way; calls wait for it.
	StateRestarting State = "restarting"
	// StateFailed: no process, and the host will not retry on its own,
	// e.g. after a checksum mismatch. A file change or Reload tries again.
	StateFailed State = "failed"
	// StateStopped: the host is closed.
	StateStopped State = "stopped"
)

// Host supervises the backends in Config.Dir. Create it with New, then
// Start it; Close stops every process.
type Host struct {
	cfg     Config
	log     *slog.Logger
	metrics hostMetrics

	// Set by Start.
	ctx    context.Context
	cancel context.CancelFunc
	hclog  hclog.Logger

	wg sync.WaitGroup

	mu       sync.Mutex
	backends map[string]*backend
	started  bool
	closed   bool
}

// backend is one name in Dir and the processes serving it over time.
type backend struct {
	name string

	// ops serializes starting processes for this backend: first start,
	// restarts and swaps.
	ops sync.Mutex

	// kick asks the supervisor for a restart.
	kick chan struct{}

	mu       sync.Mutex
	cur      *instance
	draining []*instance
	state    State
	lastErr  error
	// changed is closed and replaced whenever cur or state changes, to wake
	// calls waiting for a process.
	changed     chan struct{}
	restarts    int
	swaps       int
	crashStreak int
	closed      bool
}

// New returns a host for cfg. logger receives the host's logs and, through
// go-plugin, the backends'. set receives the host's metrics; nil keeps
// them private.
func New(cfg Config, logger *slog.Logger, set *metrics.Set) (*Host, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("configuring backend host: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if set == nil {
		set = metrics.NewSet()
	}
	return &Host{
		cfg:      cfg,
		log:      logger,
		metrics:  hostMetrics{set: set},
		backends: make(map[string]*backend),
	}, nil
}

// Start starts every backend in Dir and, unless DisableWatch, watches Dir
// for new versions. ctx bounds the host's life: supervision and watching
// stop when it ends; call Close to stop the processes. Start returns the
// errors of the backends that failed to start, joined; the others run,
// and a failed one is tried again when its file changes or on Reload.
func (h *Host) Start(ctx context.Context) error {
	h.mu.Lock()
	if h.started || h.closed {
		h.mu.Unlock()
		return errors.New("starting backend host: already started")
	}
	h.started = true
	h.ctx, h.cancel = context.WithCancel(ctx)
	h.hclog = plugins.NewHCLogger(h.ctx, h.log).Named("backend")
	h.mu.Unlock()

	names, err := scan(h.cfg.Dir)
	if err != nil {
		return fmt.Errorf("starting backend host: %w", err)
	}
	var errs []error
	for name := range h.cfg.Backends {
		if !slices.Contains(names, name) {
			errs = append(errs, fmt.Errorf("starting backend %q: configured but not in %s: %w", name, h.cfg.Dir, ErrUnknownBackend))
		}
	}
	if !h.cfg.DisableWatch {
		if err := h.startWatch(); err != nil {
			return fmt.Errorf("starting backend host: %w", err)
		}
	}
	var (
		wg  sync.WaitGroup
		emu sync.Mutex
	)
	for _, name := range names {
		b := h.add(name)
		wg.Go(func() {
			if err := h.bringUp(h.ctx, b, triggerStart); err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// add returns backend name, creating it and its supervisor if new.
func (h *Host) add(name string) *backend {
	h.mu.Lock()
	defer h.mu.Unlock()
	if b, ok := h.backends[name]; ok {
		return b
	}
	b := &backend{
		name:    name,
		kick:    make(chan struct{}, 1),
		state:   StateStarting,
		changed: make(chan struct{}),
		closed:  h.closed,
	}
	h.backends[name] = b
	h.metrics.register(name, b.inFlight)
	h.wg.Go(func() { h.supervise(h.ctx, b) })
	return b
}

func (h *Host) get(name string) (*backend, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	b, ok := h.backends[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownBackend, name)
	}
	return b, nil
}

// Close stops accepting calls, waits for the calls in flight until ctx
// ends, then stops every backend process and the host's goroutines.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	backends := make([]*backend, 0, len(h.backends))
	for _, b := range h.backends {
		backends = append(backends, b)
	}
	h.mu.Unlock()

	for _, b := range backends {
		b.mu.Lock()
		b.closed = true
		b.state = StateStopped
		b.signalLocked()
		b.mu.Unlock()
	}
	var waitErr error
	for _, inst := range instances(backends) {
		if err := waitCalls(ctx, inst); err != nil {
			waitErr = fmt.Errorf("closing backend host: %d calls still in flight: %w", inst.inflight.Load(), err)
			break
		}
	}
	if h.cancel != nil {
		h.cancel()
	}
	// Supervisors, watchers and drains are done after this, so the set of
	// processes no longer changes.
	h.wg.Wait()
	var wg sync.WaitGroup
	for _, inst := range instances(backends) {
		wg.Go(inst.stop)
	}
	wg.Wait()
	return waitErr
}

// instances returns the current and draining processes of backends.
func instances(backends []*backend) []*instance {
	var out []*instance
	for _, b := range backends {
		b.mu.Lock()
		if b.cur != nil {
			out = append(out, b.cur)
		}
		out = append(out, b.draining...)
		b.mu.Unlock()
	}
	return out
}

// waitCalls waits for inst's calls in flight to end, or for ctx.
func waitCalls(ctx context.Context, inst *instance) error {
	done := make(chan struct{})
	go func() {
		inst.calls.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// signalLocked wakes the calls waiting on b.changed. b.mu must be held.
func (b *backend) signalLocked() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// inFlight counts b's calls in flight on every process, draining ones
// included.
func (b *backend) inFlight() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	var n int64
	if b.cur != nil {
		n += b.cur.inflight.Load()
	}
	for _, inst := range b.draining {
		n += inst.inflight.Load()
	}
	return int(n)
}

// Status is what List reports about one backend.
type Status struct {
	Name string
	// State is where the backend is in its life.
	State State
	// Version, Path, SHA256, APIVersion, Tasks, Providers, Models and PID
	// describe the current process; they are empty without one.
	Version    string
	Path       string
	SHA256     string
	APIVersion string
	Tasks      []string
	Providers  plugins.Providers
	Models     []plugins.Model
	PID        int
	StartedAt  time.Time
	// Health is the last health check's answer.
	Health plugins.Health
	// RestartCount counts restarts after crashes or failed health checks.
	RestartCount int
	// SwapCount counts hot swaps.
	SwapCount int
	// InFlight counts calls in flight, on draining processes too.
	InFlight int
	// Draining counts swapped-out processes still finishing calls.
	Draining int
	// LastError is the last start or health failure, if any.
	LastError string
}

// List reports every backend, sorted by name.
func (h *Host) List() []Status {
	h.mu.Lock()
	backends := make([]*backend, 0, len(h.backends))
	for _, b := range h.backends {
		backends = append(backends, b)
	}
	h.mu.Unlock()
	out := make([]Status, 0, len(backends))
	for _, b := range backends {
		out = append(out, b.status())
	}
	slices.SortFunc(out, func(a, b Status) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

func (b *backend) status() Status {
	inFlight := b.inFlight()
	b.mu.Lock()
	defer b.mu.Unlock()
	s := Status{
		Name:         b.name,
		State:        b.state,
		RestartCount: b.restarts,
		SwapCount:    b.swaps,
		InFlight:     inFlight,
		Draining:     len(b.draining),
	}
	if b.lastErr != nil {
		s.LastError = b.lastErr.Error()
	}
	if inst := b.cur; inst != nil {
		s.Version = inst.info.Version
		s.Path = inst.path
		s.SHA256 = inst.sha256
		s.APIVersion = inst.apiVersion
		s.Tasks = inst.info.Tasks
		s.Providers = inst.info.Providers
		s.Models = inst.info.Models
		s.PID = inst.pid
		s.StartedAt = inst.started
		s.Health = inst.lastHealth()
	}
	return s
}
