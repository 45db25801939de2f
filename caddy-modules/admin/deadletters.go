package admin

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/scheduler"
)

// Bounds of GET /admin/v1/dead-letters?limit=.
const (
	defaultDeadLimit = 100
	maxDeadLimit     = 1000
)

// deadLetterView is one job on the dead-letter list: enough to see why it
// failed and whether it can be redriven, without its options' secrets.
type deadLetterView struct {
	ID             string              `json:"id"`
	Tenant         string              `json:"tenant"`
	Status         scheduler.Status    `json:"status"`
	Attempts       int                 `json:"attempts"`
	Error          *scheduler.JobError `json:"error,omitempty"`
	Worker         string              `json:"worker,omitempty"`
	Filename       string              `json:"filename,omitempty"`
	MediaType      string              `json:"media_type,omitempty"`
	BatchID        string              `json:"batch_id,omitempty"`
	CreatedAt      time.Time           `json:"created_at"`
	DeadLetteredAt time.Time           `json:"dead_lettered_at"`
	// InputExpired: retention removed the input; the job cannot be
	// redriven.
	InputExpired bool `json:"input_expired"`
}

func deadView(j *scheduler.Job) deadLetterView {
	return deadLetterView{
		ID: j.ID, Tenant: j.Tenant, Status: j.Status, Attempts: j.Attempts, Error: j.Error, Worker: j.Worker,
		Filename: j.Input.Filename, MediaType: j.Input.MediaType, BatchID: j.BatchID,
		CreatedAt: j.CreatedAt, DeadLetteredAt: j.DeadLetteredAt, InputExpired: j.ResultExpired,
	}
}

// listDeadLetters is GET /admin/v1/dead-letters?limit=&before=: the jobs
// that failed after using up their attempts, newest first. next_before,
// when present, is the before= of the next page.
func (h *Handler) listDeadLetters(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := defaultDeadLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxDeadLimit {
			api.WriteError(w, api.Errorf(http.StatusBadRequest, api.CodeInvalidRequest, "limit must be an integer from 1 to %d", maxDeadLimit).With("field", "limit").With("value", v))
			return
		}
		limit = n
	}
	var before time.Time
	if v := q.Get("before"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			api.WriteError(w, api.Errorf(http.StatusBadRequest, api.CodeInvalidRequest, "before must be an RFC 3339 time, such as a page's next_before").With("field", "before").With("value", v))
			return
		}
		before = t
	}
	ctx := r.Context()
	ids, err := h.app.Jobs().DeadLetters(ctx, before, limit)
	if err != nil {
		h.log.ErrorContext(ctx, "listing dead-lettered jobs", "error", err)
		api.WriteError(w, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "the job store is unavailable"))
		return
	}
	out := struct {
		Jobs       []deadLetterView `json:"jobs"`
		NextBefore string           `json:"next_before,omitempty"`
	}{Jobs: make([]deadLetterView, 0, len(ids))}
	for _, id := range ids {
		j, err := h.app.Jobs().Get(ctx, id)
		if errors.Is(err, scheduler.ErrNotFound) {
			continue // deleted since the list was read
		}
		if err != nil {
			h.log.ErrorContext(ctx, "reading a dead-lettered job", "job_id", id, "error", err)
			api.WriteError(w, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "the job store is unavailable"))
			return
		}
		if j.DeadLetteredAt.IsZero() {
			continue // redriven since the list was read
		}
		out.Jobs = append(out.Jobs, deadView(j))
	}
	if len(ids) == limit && len(out.Jobs) > 0 {
		out.NextBefore = out.Jobs[len(out.Jobs)-1].DeadLetteredAt.Format(time.RFC3339Nano)
	}
	writeJSON(w, http.StatusOK, out)
}

// redrive is POST /admin/v1/dead-letters/{id}/redrive: the job is queued
// again under its own id with all its attempts ahead, so a client still
// polling it sees it run.
func (h *Handler) redrive(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	j, err := h.app.Jobs().Redrive(r.Context(), id)
	switch {
	case errors.Is(err, scheduler.ErrNotFound):
		api.WriteError(w, api.Errorf(http.StatusNotFound, api.CodeJobNotFound, "no job %q", id).With("job_id", id))
	case errors.Is(err, scheduler.ErrNotDeadLettered):
		api.WriteError(w, api.Errorf(http.StatusConflict, api.CodeJobNotDeadLettered, "job %q is not on the dead-letter list", id).With("job_id", id))
	case errors.Is(err, scheduler.ErrInputExpired):
		api.WriteError(w, api.Errorf(http.StatusGone, api.CodeResultExpired, "job %q cannot run again: retention removed its input", id).With("job_id", id))
	case err != nil:
		h.log.ErrorContext(r.Context(), "redriving job", "job_id", id, "error", err)
		api.WriteError(w, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "the job store is unavailable; the job was not redriven"))
	default:
		h.log.InfoContext(r.Context(), "dead-lettered job redriven", "job_id", id, "tenant", j.Tenant)
		writeJSON(w, http.StatusOK, j.View())
	}
}
