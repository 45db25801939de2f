package tiers

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// settle lets an editor finish writing before the file is read: the events
// within it after the first cause one reload.
const settle = 100 * time.Millisecond

// Watch reloads the data file whenever its folder changes, until ctx ends.
// It watches the folder rather than the file so that atomic replacement by
// rename (editors, config management, Kubernetes' symlink swap) is seen;
// any event triggers a reload, which is a no-op when the bytes are the same.
// A refused file is logged and the previous data stays in force. With
// embedded data there is nothing to watch and Watch returns at once.
func (e *Engine) Watch(ctx context.Context, log *slog.Logger) error {
	if e.cfg.DataFile == "" {
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching tier data: %w", err)
	}
	defer w.Close()
	if err := w.Add(filepath.Dir(e.cfg.DataFile)); err != nil {
		return fmt.Errorf("watching tier data: %w", err)
	}
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-w.Events:
			if !ok {
				return nil
			}
			// The first event arms the timer; later ones ride along, so a
			// file rewritten constantly is still reloaded.
			if timer == nil {
				timer = time.After(settle)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			log.Warn("watching tier data", logKeyFile, e.cfg.DataFile, "error", err)
		case <-timer:
			timer = nil
			before := e.cur.Load()
			err := e.Reload(ctx)
			if err != nil || e.cur.Load() != before {
				logReload(log, e.cfg.DataFile, err)
			}
		}
	}
}
