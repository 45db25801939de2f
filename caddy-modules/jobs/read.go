package jobs

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/scheduler"
)

// get is GET /api/v1/jobs/{id}; ?wait=30s holds the answer until the status
// changes from what it was when the request came, or the wait ends.
func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	j, apiErr := h.load(r, id)
	if apiErr != nil {
		api.WriteError(w, apiErr)
		return
	}
	if raw := r.URL.Query().Get("wait"); raw != "" {
		wait, err := time.ParseDuration(raw)
		if err != nil || wait < 0 {
			api.WriteError(w, invalid("wait", "wait must be a duration such as 30s"))
			return
		}
		wait = min(wait, time.Duration(h.MaxWait))
		if !j.Status.Terminal() && wait > 0 {
			j = h.waitChange(r.Context(), j, wait)
		}
	}
	writeJSON(w, http.StatusOK, view(j))
}

// waitChange blocks until j's status differs from its current one, the
// wait ends or the client leaves, and returns the newest version it saw.
func (h *Handler) waitChange(ctx context.Context, j *scheduler.Job, wait time.Duration) *scheduler.Job {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	updates, err := h.app.Jobs().Subscribe(ctx, j.ID)
	if err != nil {
		return j
	}
	// Re-read after subscribing: a change between the first read and the
	// subscription would otherwise be missed.
	if cur, err := h.app.Jobs().Get(ctx, j.ID); err == nil && cur.Status != j.Status {
		return cur
	}
	for {
		select {
		case <-ctx.Done():
			if cur, err := h.app.Jobs().Get(context.WithoutCancel(ctx), j.ID); err == nil {
				return cur
			}
			return j
		case cur, ok := <-updates:
			if !ok {
				return j
			}
			if cur.Status != j.Status {
				return cur
			}
		}
	}
}

// Pagination bounds of GET /api/v1/jobs.
const (
	defaultListLimit = 20
	maxListLimit     = 100
)

// list is GET /api/v1/jobs?limit=&cursor=, the caller's jobs newest first.
func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := defaultListLimit
	if raw := q.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxListLimit {
			api.WriteError(w, invalid("limit", "limit must be a whole number from 1 to %d", maxListLimit))
			return
		}
		limit = n
	}
	page, err := h.app.Jobs().List(r.Context(), tenant(r), q.Get("cursor"), limit)
	if err != nil {
		h.log.ErrorContext(r.Context(), "listing jobs", "error", err)
		api.WriteError(w, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "the job store is unavailable"))
		return
	}
	out := api.JobList{Jobs: make([]api.Job, 0, len(page.Jobs)), NextCursor: page.NextCursor}
	for _, j := range page.Jobs {
		out.Jobs = append(out.Jobs, view(j))
	}
	writeJSON(w, http.StatusOK, out)
}

// events is GET /api/v1/jobs/{id}/events: Server-Sent Events with the job
// view on every change, ending after the terminal state.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	j, apiErr := h.load(r, r.PathValue("id"))
	if apiErr != nil {
		api.WriteError(w, apiErr)
		return
	}
	updates, err := h.app.Jobs().Subscribe(ctx, j.ID)
	if err != nil {
		api.WriteError(w, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "the job store is unavailable"))
		return
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(j *scheduler.Job) bool {
		fmt.Fprintf(w, "event: %s\ndata: ", "status")
		writeJSONLine(w, view(j))
		fmt.Fprint(w, "\n")
		return rc.Flush() == nil
	}
	if cur, err := h.app.Jobs().Get(ctx, j.ID); err == nil {
		j = cur
	}
	if !send(j) || j.Status.Terminal() {
		return
	}
	tick := time.NewTicker(time.Duration(h.SSEKeepAlive))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			if rc.Flush() != nil {
				return
			}
		case cur, ok := <-updates:
			if !ok || !send(cur) || cur.Status.Terminal() {
				return
			}
		}
	}
}
