package jobs

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/blob"
	"github.com/docstrange/mesh/scheduler/render"
)

// result is GET /api/v1/jobs/{id}/result?format=. Every format renders from
// the stored canonical document, so a format the job did not list is still
// served; without ?format the first of the job's output_formats is used.
func (h *Handler) result(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	j, apiErr := h.load(r, id)
	if apiErr != nil {
		api.WriteError(w, apiErr)
		return
	}
	format := strings.ToLower(r.URL.Query().Get("format"))
	if format == "" {
		format = j.Options.OutputFormats[0]
	}
	if !slices.Contains(scheduler.Formats, format) {
		api.WriteError(w, invalid("format", "format must be one of %s", strings.Join(scheduler.Formats, ", ")).With("value", format))
		return
	}
	switch {
	case j.ResultExpired:
		api.WriteError(w, api.Errorf(http.StatusGone, api.CodeResultExpired, "the result expired and was deleted").
			With("job_id", id))
		return
	case j.Status == scheduler.StatusFailed:
		e := api.Errorf(http.StatusConflict, api.CodeJobNotFinished, "the job failed and has no result").With("job_id", id).With("status", j.Status)
		if j.Error != nil {
			e = e.With("job_error", j.Error)
		}
		api.WriteError(w, e)
		return
	case j.Status != scheduler.StatusSucceeded:
		api.WriteError(w, api.Errorf(http.StatusConflict, api.CodeJobNotFinished, "the job is %s; the result is not ready", j.Status).
			With("job_id", id).With("status", j.Status))
		return
	}
	etag := strconv.Quote(j.ID + "-" + format)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	rc, _, err := h.app.Blobs().Open(ctx, j.ResultKey)
	if errors.Is(err, blob.ErrNotFound) {
		api.WriteError(w, api.Errorf(http.StatusGone, api.CodeResultExpired, "the result is no longer stored").With("job_id", id))
		return
	}
	if err != nil {
		h.log.ErrorContext(ctx, "opening result", "job_id", id, "error", err)
		api.WriteError(w, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "result storage is unavailable"))
		return
	}
	defer rc.Close()
	var doc scheduler.Document
	if err := json.NewDecoder(rc).Decode(&doc); err != nil {
		h.log.ErrorContext(ctx, "decoding result", "job_id", id, "error", err)
		api.WriteError(w, api.Errorf(http.StatusInternalServerError, api.CodeInternal, "the stored result is unreadable"))
		return
	}
	body, contentType, err := render.Render(&doc, format)
	if err != nil {
		h.log.ErrorContext(ctx, "rendering result", "job_id", id, "format", format, "error", err)
		api.WriteError(w, api.Errorf(http.StatusInternalServerError, api.CodeInternal, "rendering the result failed"))
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}
