package jobs

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/scheduler"
)

// cancelWait is how long DELETE waits for a running job to stop, so the
// answer can usually say "canceled" rather than "cancel requested".
const cancelWait = 3 * time.Second

var errFinished = errors.New("job already finished")

// cancel is DELETE /api/v1/jobs/{id}. A queued job is canceled on the spot
// and never runs; a running job is flagged, and its worker aborts between
// pages. The answer is 200 with the job once it is canceled, 202 while the
// worker is still stopping.
func (h *Handler) cancel(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	if _, apiErr := h.load(r, id); apiErr != nil {
		api.WriteError(w, apiErr)
		return
	}
	j, err := h.cancelJob(ctx, id)
	switch {
	case errors.Is(err, errFinished):
		cur, _ := h.app.Jobs().Get(ctx, id)
		e := api.Errorf(http.StatusConflict, api.CodeJobFinished, "the job already finished and cannot be canceled").With("job_id", id)
		if cur != nil {
			e = e.With("status", cur.Status)
		}
		api.WriteError(w, e)
		return
	case errors.Is(err, scheduler.ErrNotFound):
		api.WriteError(w, errJobNotFound(id))
		return
	case err != nil:
		h.log.ErrorContext(ctx, "canceling job", "job_id", id, "error", err)
		api.WriteError(w, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "the job store is unavailable"))
		return
	}
	if !j.Status.Terminal() {
		j = h.waitChange(ctx, j, cancelWait)
	}
	h.log.InfoContext(ctx, "job cancel requested", "job_id", id, "status", j.Status)
	status := http.StatusOK
	if !j.Status.Terminal() {
		status = http.StatusAccepted
	}
	writeJSON(w, status, view(j))
}

// cancelJob cancels a queued job on the spot and flags a running one for
// its worker; errFinished when it already ended.
func (h *Handler) cancelJob(ctx context.Context, id string) (*scheduler.Job, error) {
	j, err := h.app.Jobs().Update(ctx, id, func(j *scheduler.Job) error {
		if j.Status.Terminal() {
			return errFinished
		}
		j.CancelRequested = true
		if j.Status == scheduler.StatusQueued {
			now := time.Now().UTC()
			j.Status = scheduler.StatusCanceled
			j.FinishedAt = now
			j.ExpiresAt = now.Add(time.Duration(h.app.ResultTTL))
		}
		return nil
	})
	if err == nil && j.Status == scheduler.StatusCanceled {
		h.app.Metrics().JobFinished(scheduler.StatusCanceled, 0)
	}
	return j, err
}
