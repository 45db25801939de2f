package tus

import (
	"context"
	"os"
	"strings"
	"time"
)

// expireLoop deletes expired uploads until ctx ends.
func (h *Handler) expireLoop(ctx context.Context) {
	t := time.NewTicker(time.Duration(h.CleanupInterval))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := h.expire(ctx, time.Now())
			if err != nil {
				h.log.Error("deleting expired uploads", "error", err)
			}
			if n > 0 {
				h.log.Info("expired uploads deleted", "count", n)
			}
		}
	}
}

// expire deletes, through the store, every upload whose expiry has passed,
// each under its upload lock so a PATCH in flight finishes or is told to
// stop first.
func (h *Handler) expire(ctx context.Context, now time.Time) (int, error) {
	entries, err := os.ReadDir(h.dir)
	if err != nil {
		return 0, err
	}
	deleted := 0
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".info")
		if !ok || e.IsDir() {
			continue
		}
		if ctx.Err() != nil {
			return deleted, nil
		}
		info, err := h.info(ctx, id)
		if err != nil {
			if !isNotFound(err) {
				h.log.Warn("reading upload for expiry", "upload_id", id, "error", err)
			}
			continue
		}
		if now.Before(h.expiry(info)) {
			continue
		}
		if err := h.terminate(ctx, id); err != nil {
			h.log.Warn("deleting expired upload", "upload_id", id, "error", err)
			continue
		}
		deleted++
	}
	return deleted, nil
}

// terminate deletes one upload under its lock.
func (h *Handler) terminate(ctx context.Context, id string) error {
	lock, err := h.locker.NewLock(id)
	if err != nil {
		return err
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := lock.Lock(lctx, func() {}); err != nil {
		return err
	}
	defer lock.Unlock()
	up, err := h.store.GetUpload(ctx, id)
	if err != nil {
		return err
	}
	return h.store.AsTerminatableUpload(up).Terminate(ctx)
}
