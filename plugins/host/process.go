package host

import (
	"context"
	"errors"
	"fmt"

	"github.com/docstrange/mesh/plugins"
)

// Process runs req on backend name and calls emit once per item, like
// plugins.Backend.Process. If the backend's process dies during the call,
// the items without a result yet are sent again to the restarted (or
// swapped-in) process, at most MaxRetries times; emit never sees an item
// twice, so item IDs must be unique within req. emit is called from one
// goroutine at a time. While the backend restarts, the call waits for it,
// as long as ctx allows.
func (h *Host) Process(ctx context.Context, name string, req *plugins.ProcessRequest, emit func(plugins.ItemResult) error) error {
	b, err := h.get(name)
	if err != nil {
		return fmt.Errorf("processing on backend %q: %w", name, err)
	}
	done := make(map[string]bool, len(req.Items))
	var emitErr error
	record := func(r plugins.ItemResult) error {
		if err := emit(r); err != nil {
			emitErr = err
			return err
		}
		done[r.ItemID] = true
		return nil
	}
	pending := req
	for attempt := 0; ; attempt++ {
		inst, err := h.acquire(ctx, b)
		if err != nil {
			return fmt.Errorf("processing on backend %q: %w", name, err)
		}
		err = inst.backend.Process(ctx, pending.ForAPIVersion(inst.apiVersion), record)
		release(inst)
		switch {
		case err == nil:
			return nil
		case emitErr != nil:
			return emitErr
		case !lost(ctx, inst, err):
			return fmt.Errorf("processing on backend %q: %w", name, err)
		}
		h.crash(b, inst, err)
		pending = remaining(req, done)
		if len(pending.Items) == 0 {
			return nil
		}
		if attempt >= h.cfg.MaxRetries {
			return fmt.Errorf("processing on backend %q: giving up after %d retries: %w", name, attempt, err)
		}
		h.metrics.retry(name)
		h.log.Info("retrying in-flight work on a new backend process",
			LogKeyBackend, name, LogKeyItems, len(pending.Items), LogKeyAttempt, attempt+1, LogKeyError, err.Error())
	}
}

// lost reports whether err means inst's process went away under the call,
// rather than the call failing on its own or the caller giving up.
func lost(ctx context.Context, inst *instance, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	select {
	case <-inst.exited:
		return true
	default:
	}
	// With ctx alive, Canceled means the host closed the connection: the
	// process was stopped after a drain timeout or a failed health check.
	return errors.Is(err, plugins.ErrUnavailable) || errors.Is(err, context.Canceled)
}

// remaining returns req without the items in done.
func remaining(req *plugins.ProcessRequest, done map[string]bool) *plugins.ProcessRequest {
	r := *req
	r.Items = make([]plugins.Item, 0, len(req.Items)-len(done))
	for _, it := range req.Items {
		if !done[it.ID] {
			r.Items = append(r.Items, it)
		}
	}
	return &r
}

// acquire returns b's current process with a call counted on it, waiting
// while b restarts.
func (h *Host) acquire(ctx context.Context, b *backend) (*instance, error) {
	for {
		b.mu.Lock()
		switch {
		case b.closed:
			b.mu.Unlock()
			return nil, ErrClosed
		case b.cur != nil:
			inst := b.cur
			inst.inflight.Add(1)
			inst.calls.Add(1)
			b.mu.Unlock()
			return inst, nil
		case b.state == StateFailed:
			err := b.lastErr
			b.mu.Unlock()
			return nil, fmt.Errorf("%w: %w", ErrNotRunning, err)
		}
		changed := b.changed
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-changed:
		}
	}
}

func release(inst *instance) {
	inst.inflight.Add(-1)
	inst.calls.Done()
}

// call runs f on b's current process, without retries.
func (h *Host) call(ctx context.Context, name string, f func(*instance) error) error {
	b, err := h.get(name)
	if err != nil {
		return err
	}
	inst, err := h.acquire(ctx, b)
	if err != nil {
		return err
	}
	defer release(inst)
	return f(inst)
}

// Backend returns backend name as a plugins.Backend that routes each call
// through the host: to the current process, with Process's retries.
func (h *Host) Backend(name string) plugins.Backend {
	return routed{h: h, name: name}
}

type routed struct {
	h    *Host
	name string
}

func (r routed) Info(ctx context.Context) (plugins.Info, error) {
	var info plugins.Info
	err := r.h.call(ctx, r.name, func(inst *instance) error {
		var err error
		info, err = inst.backend.Info(ctx)
		return err
	})
	if err != nil {
		return plugins.Info{}, fmt.Errorf("getting info of backend %q: %w", r.name, err)
	}
	return info, nil
}

func (r routed) Health(ctx context.Context) (plugins.Health, error) {
	var hl plugins.Health
	err := r.h.call(ctx, r.name, func(inst *instance) error {
		var err error
		hl, err = inst.backend.Health(ctx)
		return err
	})
	if err != nil {
		return plugins.Health{}, fmt.Errorf("checking health of backend %q: %w", r.name, err)
	}
	return hl, nil
}

func (r routed) Process(ctx context.Context, req *plugins.ProcessRequest, emit func(plugins.ItemResult) error) error {
	return r.h.Process(ctx, r.name, req, emit)
}

// Reload swaps backend name to its binary as it is in Dir now: it starts
// the new process, checks it (API version, Info, Health), routes new work
// to it, and drains and stops the old one in the background. If the new
// process fails, the old one keeps serving and Reload returns why. A name
// new to the host is started.
func (h *Host) Reload(ctx context.Context, name string) error {
	if !validName(name) {
		return fmt.Errorf("reloading backend %q: %w", name, ErrUnknownBackend)
	}
	h.mu.Lock()
	closed, started := h.closed, h.started
	h.mu.Unlock()
	switch {
	case closed:
		return fmt.Errorf("reloading backend %q: %w", name, ErrClosed)
	case !started:
		return fmt.Errorf("reloading backend %q: host not started", name)
	}
	if _, err := resolve(h.cfg.Dir, name); err != nil {
		return fmt.Errorf("reloading backend %q: %w", name, err)
	}
	if err := h.bringUp(ctx, h.add(name), triggerReload); err != nil {
		return fmt.Errorf("reloading backend %q: %w", name, err)
	}
	return nil
}
