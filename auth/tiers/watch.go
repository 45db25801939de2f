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

// Watch reloads the data file whenever it changes, until ctx ends. It
// watches the folder rather than the file so that atomic replacement by
// rename (editors, config management, Kubernetes' symlink swap) is seen;
// the events that concern the file trigger a reload, which is a no-op when
// the bytes are the same. A refused file is logged and the previous data
// stays in force. With embedded data there is nothing to watch and Watch
// returns at once.
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
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if !concerns(ev, e.cfg.DataFile) {
				continue
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

// concerns reports whether ev, in the data file's folder, may have changed
// the file. Any event on the file itself does. So does a name created,
// renamed or removed beside it, which may be the symlink the file resolves
// through (Kubernetes swaps a ConfigMap's "..data" link). A write to
// another file does not: a log beside the data file is written on every
// request, and each write armed a reload that read and compared the file
// again.
func concerns(ev fsnotify.Event, file string) bool {
	if filepath.Clean(ev.Name) == filepath.Clean(file) {
		return true
	}
	return ev.Has(fsnotify.Create) || ev.Has(fsnotify.Rename) || ev.Has(fsnotify.Remove)
}
