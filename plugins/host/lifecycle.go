package host

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// trigger says why a process is being started.
type trigger string

const (
	triggerStart   trigger = "start"
	triggerRestart trigger = "restart"
	triggerReload  trigger = "reload"
	triggerFile    trigger = "file"
)

// bringUp starts the backend's binary as it is in Dir now and routes new
// work to it; a process it replaces is drained and stopped in the
// background. If the new process fails to start or to pass its checks,
// the old one keeps serving.
func (h *Host) bringUp(ctx context.Context, b *backend, why trigger) error {
	b.ops.Lock()
	defer b.ops.Unlock()
	path, err := resolve(h.cfg.Dir, b.name)
	var inst *instance
	if err == nil {
		inst, err = h.launch(ctx, b.name, path)
	}
	if err != nil {
		b.mu.Lock()
		b.lastErr = err
		// A failed swap leaves a restarting backend to its restart loop.
		if b.cur == nil && !b.closed && why != triggerRestart && b.state != StateRestarting {
			b.state = StateFailed
			b.signalLocked()
		}
		b.mu.Unlock()
		if why == triggerReload || why == triggerFile {
			h.metrics.swap(b.name, false)
		}
		return err
	}
	old, err := h.install(b, inst, why)
	if err != nil {
		return err
	}
	h.log.Info("backend started",
		LogKeyBackend, b.name, LogKeyTrigger, string(why), LogKeyVersion, inst.info.Version,
		LogKeyAPIVersion, inst.apiVersion, LogKeyPath, inst.path, LogKeySHA256, inst.sha256, LogKeyPID, inst.pid)
	if old != nil {
		h.wg.Go(func() { h.drain(b, old) })
	}
	return nil
}

// install makes inst b's current process and returns the one it replaced,
// already marked as stopping so that its exit is not taken for a crash.
func (h *Host) install(b *backend, inst *instance, why trigger) (*instance, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		inst.stop()
		return nil, fmt.Errorf("starting backend %q: %w", b.name, ErrClosed)
	}
	old := b.cur
	b.cur = inst
	b.state = StateRunning
	b.lastErr = nil
	switch why {
	case triggerRestart:
		b.restarts++
		h.metrics.restart(b.name)
	case triggerReload, triggerFile:
		b.swaps++
		b.crashStreak = 0
		h.metrics.swap(b.name, true)
	}
	if old != nil {
		old.stopping.Store(true)
		b.draining = append(b.draining, old)
	}
	b.signalLocked()
	b.mu.Unlock()
	h.wg.Go(func() { inst.watchExit(h.ctx, func() { h.crash(b, inst, errors.New("process exited")) }) })
	return old, nil
}

// drain waits for old's calls to end, at most DrainTimeout, then stops it.
// Calls still running then fail with the process and are retried on the
// current one.
func (h *Host) drain(b *backend, old *instance) {
	t := time.NewTimer(time.Duration(h.cfg.DrainTimeout))
	defer t.Stop()
	done := make(chan struct{})
	go func() {
		old.calls.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-t.C:
		h.log.Warn("drain timed out, stopping backend with calls in flight",
			LogKeyBackend, b.name, LogKeyVersion, old.info.Version, LogKeyInFlight, old.inflight.Load())
	case <-h.ctx.Done():
	}
	old.stop()
	b.mu.Lock()
	if i := indexOf(b.draining, old); i >= 0 {
		b.draining = append(b.draining[:i], b.draining[i+1:]...)
	}
	b.mu.Unlock()
	h.log.Info("backend drained and stopped", LogKeyBackend, b.name, LogKeyVersion, old.info.Version, LogKeyPID, old.pid)
}

func indexOf(s []*instance, v *instance) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// crash takes inst out of service, if it is still b's current process and
// not being stopped on purpose, and asks the supervisor for a restart.
func (h *Host) crash(b *backend, inst *instance, reason error) {
	b.mu.Lock()
	if b.cur != inst || inst.stopping.Load() || b.closed {
		b.mu.Unlock()
		return
	}
	inst.stopping.Store(true)
	b.cur = nil
	b.state = StateRestarting
	b.lastErr = reason
	if time.Since(inst.started) > time.Duration(h.cfg.RestartBackoffMax) {
		b.crashStreak = 0
	}
	b.signalLocked()
	b.mu.Unlock()
	h.log.Warn("backend crashed", LogKeyBackend, b.name, LogKeyVersion, inst.info.Version, LogKeyPID, inst.pid, LogKeyError, reason.Error())
	h.wg.Go(inst.client.Kill)
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// supervise health-checks b's process every HealthInterval and restarts it
// when asked to through b.kick.
func (h *Host) supervise(ctx context.Context, b *backend) {
	t := time.NewTicker(time.Duration(h.cfg.HealthInterval))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.kick:
			h.restart(ctx, b)
		case <-t.C:
			h.checkHealth(ctx, b)
		}
	}
}

// restart brings b back up with exponential backoff until it runs, ctx
// ends, something else (a swap) brought it up, or the binary is refused
// for good.
func (h *Host) restart(ctx context.Context, b *backend) {
	for {
		b.mu.Lock()
		if b.cur != nil || b.closed {
			b.mu.Unlock()
			return
		}
		streak := b.crashStreak
		b.crashStreak++
		changed := b.changed
		b.mu.Unlock()
		delay := h.backoff(streak)
		h.log.Info("restarting backend", LogKeyBackend, b.name, LogKeyDelay, delay.String(), LogKeyAttempt, streak+1)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-changed:
			// A swap may have brought the backend up meanwhile; look again.
			t.Stop()
			b.mu.Lock()
			b.crashStreak--
			b.mu.Unlock()
			continue
		case <-t.C:
		}
		b.mu.Lock()
		up := b.cur != nil
		b.mu.Unlock()
		if up {
			return
		}
		err := h.bringUp(ctx, b, triggerRestart)
		if err == nil {
			return
		}
		h.metrics.restartFailed(b.name)
		h.log.Error("restarting backend failed", LogKeyBackend, b.name, LogKeyError, err.Error())
		if errors.Is(err, ErrChecksumMismatch) || errors.Is(err, ErrNoBinary) || errors.Is(err, ErrUnknownBackend) {
			b.mu.Lock()
			if b.cur == nil && !b.closed {
				b.state = StateFailed
				b.signalLocked()
			}
			b.mu.Unlock()
			return
		}
	}
}

// backoff returns the wait before restart number streak+1 in a row.
func (h *Host) backoff(streak int) time.Duration {
	d := time.Duration(h.cfg.RestartBackoffMin)
	maxDelay := time.Duration(h.cfg.RestartBackoffMax)
	for range streak {
		d *= 2
		if d >= maxDelay {
			return maxDelay
		}
	}
	return d
}

// checkHealth asks b's process for its health and takes it out of service
// after FailureThreshold failures in a row.
func (h *Host) checkHealth(ctx context.Context, b *backend) {
	b.mu.Lock()
	inst := b.cur
	b.mu.Unlock()
	if inst == nil {
		return
	}
	hctx, cancel := context.WithTimeout(ctx, time.Duration(h.cfg.HealthTimeout))
	hl, err := inst.backend.Health(hctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	fails := inst.setHealth(hl, err, h.cfg.FailureThreshold)
	if fails == 0 {
		return
	}
	reason := err
	if reason == nil {
		reason = fmt.Errorf("%w: %s: %s", ErrUnhealthy, hl.Status, hl.Detail)
	}
	h.log.Warn("backend health check failed", LogKeyBackend, b.name, LogKeyAttempt, fails, LogKeyError, reason.Error())
	if fails >= h.cfg.FailureThreshold {
		h.crash(b, inst, fmt.Errorf("%d health checks failed in a row: %w", fails, reason))
	}
}
