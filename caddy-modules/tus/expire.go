package tus

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/docstrange/mesh/uploads"
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
	dir := h.store.Dir()
	if dir == "" {
		return 0, nil
	}
	entries, err := os.ReadDir(dir)
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
		info, err := h.store.Info(ctx, id)
		if err != nil {
			if !uploads.IsNotFound(err) {
				h.log.Warn("reading upload for expiry", "upload_id", id, "error", err)
			}
			continue
		}
		if now.Before(h.expiry(info)) {
			continue
		}
		if err := h.store.Terminate(ctx, id); err != nil {
			h.log.Warn("deleting expired upload", "upload_id", id, "error", err)
			continue
		}
		deleted++
	}
	return deleted, nil
}
