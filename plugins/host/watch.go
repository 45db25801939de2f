package host

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// startWatch watches Dir and its backend folders for new binaries.
func (h *Host) startWatch() error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching %s: %w", h.cfg.Dir, err)
	}
	if err := w.Add(h.cfg.Dir); err != nil {
		w.Close()
		return fmt.Errorf("watching %s: %w", h.cfg.Dir, err)
	}
	names, err := scan(h.cfg.Dir)
	if err != nil {
		w.Close()
		return err
	}
	for _, name := range names {
		p := filepath.Join(h.cfg.Dir, name)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			if err := w.Add(p); err != nil {
				w.Close()
				return fmt.Errorf("watching %s: %w", p, err)
			}
		}
	}
	h.wg.Go(func() { h.watch(h.ctx, w) })
	return nil
}

// watch turns file events into swaps, once a backend's entry has been
// quiet for SettleDelay, so that a binary still being written is not
// started.
func (h *Host) watch(ctx context.Context, w *fsnotify.Watcher) {
	defer w.Close()
	settle := time.Duration(h.cfg.SettleDelay)
	timers := make(map[string]*time.Timer)
	fire := make(chan string)
	defer func() {
		for _, t := range timers {
			t.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			h.log.Warn("watching backend dir", LogKeyPath, h.cfg.Dir, LogKeyError, err.Error())
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			name, nested := h.entryOf(ev.Name)
			if name == "" || !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Write) && !ev.Has(fsnotify.Chmod) {
				continue
			}
			if !nested && ev.Has(fsnotify.Create) {
				if st, err := os.Stat(ev.Name); err == nil && st.IsDir() {
					if err := w.Add(ev.Name); err != nil {
						h.log.Warn("watching backend folder", LogKeyPath, ev.Name, LogKeyError, err.Error())
					}
				}
			}
			if t, ok := timers[name]; ok {
				t.Reset(settle)
				continue
			}
			timers[name] = time.AfterFunc(settle, func() {
				select {
				case fire <- name:
				case <-ctx.Done():
				}
			})
		case name := <-fire:
			delete(timers, name)
			h.wg.Go(func() { h.onChange(ctx, name) })
		}
	}
}

// entryOf maps an event path to its backend name, and whether it is inside
// the backend's folder. Hidden files, where new binaries are written
// before being renamed into place, map to "".
func (h *Host) entryOf(path string) (name string, nested bool) {
	rel, err := filepath.Rel(h.cfg.Dir, path)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return "", false
	}
	parts := strings.Split(filepath.ToSlash(rel), "/")
	if !validName(parts[0]) {
		return "", false
	}
	switch len(parts) {
	case 1:
		return parts[0], false
	case 2:
		if strings.HasPrefix(parts[1], ".") {
			return "", false
		}
		return parts[0], true
	}
	return "", false
}

// onChange swaps backend name to the binary now in Dir, unless that is the
// one already running.
func (h *Host) onChange(ctx context.Context, name string) {
	path, err := resolve(h.cfg.Dir, name)
	if err != nil {
		h.log.Debug("backend entry changed but has no binary", LogKeyBackend, name, LogKeyError, err.Error())
		return
	}
	sum, err := fileSHA256(path)
	if err != nil {
		h.log.Warn("hashing new backend binary", LogKeyBackend, name, LogKeyError, err.Error())
		return
	}
	b := h.add(name)
	b.mu.Lock()
	cur := b.cur
	b.mu.Unlock()
	if cur != nil && cur.path == path && cur.sha256 == sum {
		return
	}
	h.log.Info("new backend binary, swapping", LogKeyBackend, name, LogKeyPath, path, LogKeySHA256, sum)
	if err := h.bringUp(ctx, b, triggerFile); err != nil {
		h.log.Error("swapping backend failed, the old process keeps serving", LogKeyBackend, name, LogKeyError, err.Error())
	}
}
