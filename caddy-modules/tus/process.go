package tus

import (
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/rs/xid"
	tusd "github.com/tus/tusd/v2/pkg/handler"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/caddy-modules/docstrange"
	"github.com/docstrange/mesh/scheduler"
)

// Metadata keys a client sets to have its upload processed on completion:
// "process" with "true" (or "1"), and optionally "options" with the job's
// options as JSON, as in POST /api/v1/documents.
const (
	metaProcess = "process"
	metaOptions = "options"
)

// Headers on the PATCH that completes an upload marked for processing.
const (
	headerJobID  = "X-Job-ID"
	headerJobURL = "X-Job-URL"
	// headerJobCached says the job is an earlier one with the same content
	// and options.
	headerJobCached = "X-Job-Cached"
)

// preFinish runs in tusd once the last byte is stored, before the answer to
// that PATCH: an upload marked for processing becomes a job there, and the
// answer carries the job's id and URL. A job that cannot be accepted (an
// unsupported document, a quota spent) fails that PATCH with the reason;
// the upload stays, finished, and can be submitted again by upload_id.
func (h *Handler) preFinish(hook tusd.HookEvent) (tusd.HTTPResponse, error) {
	switch strings.ToLower(hook.Upload.MetaData[metaProcess]) {
	case "true", "1", "yes":
	default:
		return tusd.HTTPResponse{}, nil
	}
	ctx := hook.Context
	id, d := docstrange.IdentityFrom(ctx), docstrange.DecisionFrom(ctx)
	if id == nil || d == nil || d.Limits == nil {
		return tusd.HTTPResponse{}, apiError(api.Errorf(http.StatusInternalServerError, api.CodeInternal, "the edge is misconfigured"))
	}
	fields := map[string]string{}
	if raw, ok := hook.Upload.MetaData[metaOptions]; ok {
		fields["options"] = raw
	}
	opts, apiErr := docstrange.ParseOptions(fields)
	if apiErr != nil {
		return tusd.HTTPResponse{}, apiError(apiErr)
	}
	limit := min(h.MaxSize, d.Limits.MaxFileSize)
	jobID := "job_" + xid.New().String()
	rc, err := h.store.Open(ctx, hook.Upload.ID)
	if err != nil {
		h.log.ErrorContext(ctx, "opening finished upload", "upload_id", hook.Upload.ID, "error", err)
		return tusd.HTTPResponse{}, apiError(api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "upload storage is unavailable"))
	}
	defer rc.Close()
	readErr := func(err error) *api.Error {
		h.log.ErrorContext(ctx, "reading finished upload", "upload_id", hook.Upload.ID, "error", err)
		return api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "upload storage is unavailable")
	}
	in, apiErr := h.app.StoreInput(ctx, jobID, rc, hook.Upload.MetaData["filename"], hook.Upload.Size, limit, readErr)
	if apiErr != nil {
		h.app.DiscardInput(ctx, jobID)
		return tusd.HTTPResponse{}, apiError(apiErr)
	}
	job := newJob(jobID, *in, opts, hook)
	apiErr = h.app.CheckJob(ctx, id, job)
	if apiErr == nil {
		apiErr = h.app.CheckWebhook(ctx, job.Options.Webhook)
	}
	if apiErr != nil {
		h.app.DiscardInput(ctx, jobID)
		return tusd.HTTPResponse{}, apiError(apiErr)
	}
	res, apiErr := h.app.Enqueue(ctx, id, d, job)
	if apiErr != nil {
		h.app.DiscardInput(ctx, jobID)
		return tusd.HTTPResponse{}, apiError(apiErr)
	}
	hdr := tusd.HTTPHeader{
		headerJobID:  res.Job.ID,
		headerJobURL: "/api/v1/jobs/" + res.Job.ID,
	}
	if res.Cached {
		hdr[headerJobCached] = "true"
	}
	return tusd.HTTPResponse{Header: hdr}, nil
}

// apiError carries an API error through tusd, which answers with its status
// and "CODE: message"; the envelope writer turns that back into our shape.
func apiError(e *api.Error) error {
	return tusd.NewError(e.Code, e.Message, e.Status)
}

// newJob is the job of a finished upload; the request id is the completing
// PATCH's.
func newJob(id string, in scheduler.Input, opts scheduler.Options, hook tusd.HookEvent) *scheduler.Job {
	rid, _ := caddyhttp.GetVar(hook.Context, docstrange.VarRequestID).(string)
	return &scheduler.Job{ID: id, Input: in, Options: opts, RequestID: rid}
}
