package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/rs/xid"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/auth/tiers"
	"github.com/docstrange/mesh/caddy-modules/docstrange"
	"github.com/docstrange/mesh/scheduler"
)

// batchRecordLife is how long a batch record outlives its creation: past
// its jobs' results (ResultTTL) and their records' grace, so GET on a batch
// keeps answering while any of its jobs does.
const batchRecordLife = 8 * 24 * time.Hour

// maxBatchBody bounds a JSON batch: sources and options, no document.
const maxBatchBody = 1 << 20

// stagedInput is one document of a submission, stored under its job id.
type stagedInput struct {
	jobID string
	input *scheduler.Input
}

// batchRequest is POST /api/v1/batches with a JSON body.
type batchRequest struct {
	Sources []batchSource   `json:"sources"`
	Options json.RawMessage `json:"options"`
}

type batchSource struct {
	URL      string `json:"url"`
	UploadID string `json:"upload_id"`
}

// submitBatch is POST /api/v1/batches: many files (multipart, each in a
// "file" part) or many sources (JSON), with one set of options, accepted
// whole or not at all.
func (h *Handler) submitBatch(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, decision := docstrange.IdentityOf(r), docstrange.DecisionOf(r)
	if id == nil || decision == nil || decision.Limits == nil {
		h.log.ErrorContext(ctx, "docstrange_jobs serves a batch without docstrange_authn and docstrange_authz before it; refusing")
		api.WriteError(w, api.Errorf(http.StatusInternalServerError, api.CodeInternal, "the edge is misconfigured"))
		return
	}
	if r.Header.Get("Idempotency-Key") != "" {
		api.WriteError(w, invalid("Idempotency-Key", "Idempotency-Key is not supported on batches; submit documents one by one to retry them safely"))
		return
	}
	limit := min(h.app.MaxUploadSize, decision.Limits.MaxFileSize)
	maxDocs := int(decision.Limits.MaxBatchSize)
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var (
		staged []stagedInput
		opts   scheduler.Options
		apiErr *api.Error
	)
	switch mediaType {
	case "multipart/form-data":
		if r.ContentLength > int64(maxDocs)*limit+multipartSlack {
			api.WriteError(w, errTooLarge(r.ContentLength, limit).With("max_batch_size", maxDocs))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, int64(maxDocs)*limit+multipartSlack)
		var fields map[string]string
		staged, fields, apiErr = h.readFormInputs(ctx, r, limit, maxDocs, func(int) *api.Error { return errBatchTooLarge(maxDocs, id.Tier) })
		if apiErr == nil {
			if len(staged) == 0 {
				apiErr = invalid("file", "a batch needs at least one \"file\" part")
			} else {
				opts, apiErr = parseOptions(fields)
			}
		}
	case "application/json":
		staged, opts, apiErr = h.readBatchSources(w, r, limit, maxDocs)
	default:
		apiErr = api.Errorf(http.StatusUnsupportedMediaType, api.CodeUnsupportedMediaType,
			"Content-Type must be multipart/form-data with the documents in \"file\" parts, or application/json with sources")
	}
	if apiErr != nil {
		h.discard(ctx, staged)
		api.WriteError(w, apiErr)
		return
	}
	h.acceptBatch(w, r, staged, opts)
}

func errBatchTooLarge(max int, tier string) *api.Error {
	return api.Errorf(http.StatusBadRequest, api.CodeBatchTooLarge, "the %s tier allows at most %d documents in one batch", tier, max).
		With("max_batch_size", max).With("tier", tier)
}

// readBatchSources reads a JSON batch and fetches or copies each source.
func (h *Handler) readBatchSources(w http.ResponseWriter, r *http.Request, limit int64, maxDocs int) ([]stagedInput, scheduler.Options, *api.Error) {
	var opts scheduler.Options
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBatchBody))
	if err != nil {
		return nil, opts, invalid("body", "the JSON body is larger than %d bytes or could not be read", maxBatchBody)
	}
	var req batchRequest
	if err := api.DecodeJSON(bytes.NewReader(body), &req); err != nil {
		if uf := (*api.UnknownFieldError)(nil); errors.As(err, &uf) {
			return nil, opts, invalid(uf.Field, "unknown field %q; a JSON batch is {\"sources\":[{\"url\":…}|{\"upload_id\":…}],\"options\":{…}}", uf.Field)
		}
		return nil, opts, invalid("body", "the body is not one JSON batch {\"sources\":[…],\"options\":{…}}: %v", err)
	}
	switch {
	case len(req.Sources) == 0:
		return nil, opts, invalid("sources", "a batch needs at least one source")
	case len(req.Sources) > maxDocs:
		return nil, opts, errBatchTooLarge(maxDocs, docstrange.IdentityOf(r).Tier)
	}
	fields := map[string]string{}
	if len(req.Options) > 0 && string(req.Options) != "null" {
		fields["options"] = string(req.Options)
	}
	opts, apiErr := parseOptions(fields)
	if apiErr != nil {
		return nil, opts, apiErr
	}
	var staged []stagedInput
	for i, src := range req.Sources {
		jobID := "job_" + xid.New().String()
		var in *scheduler.Input
		switch {
		case src.URL != "" && src.UploadID != "":
			apiErr = invalid(fmt.Sprintf("sources[%d]", i), "give one source: upload_id or url, not both")
		case src.URL != "":
			in, apiErr = h.urlInput(r, jobID, src.URL, limit)
		case src.UploadID != "":
			in, apiErr = h.uploadInput(r, jobID, src.UploadID, limit)
		default:
			apiErr = invalid(fmt.Sprintf("sources[%d]", i), "a source needs url or upload_id")
		}
		if apiErr != nil {
			h.app.DiscardInput(r.Context(), jobID)
			return staged, opts, apiErr.With("index", i)
		}
		staged = append(staged, stagedInput{jobID: jobID, input: in})
	}
	return staged, opts, nil
}

// acceptBatch checks every document, then enqueues them all and records
// the batch; any refusal refuses the whole batch, naming the document.
func (h *Handler) acceptBatch(w http.ResponseWriter, r *http.Request, staged []stagedInput, opts scheduler.Options) {
	ctx := r.Context()
	id, decision := docstrange.IdentityOf(r), docstrange.DecisionOf(r)
	batchID := "batch_" + xid.New().String()
	// The documents share their options, so the webhook URL (a DNS
	// lookup) is checked once. The stores copy each job at Create, so
	// sharing the options' slices here is safe.
	if apiErr := h.app.CheckWebhook(ctx, opts.Webhook); apiErr != nil {
		h.discard(ctx, staged)
		api.WriteError(w, apiErr)
		return
	}
	jobs := make([]*scheduler.Job, len(staged))
	for i, s := range staged {
		jobs[i] = &scheduler.Job{ID: s.jobID, Options: opts, Input: *s.input, BatchID: batchID, RequestID: requestID(r)}
		if apiErr := h.app.CheckJob(ctx, id, jobs[i]); apiErr != nil {
			h.discard(ctx, staged)
			api.WriteError(w, apiErr.With("index", i).With("filename", s.input.Filename))
			return
		}
	}
	res, apiErr := h.app.EnqueueBatch(ctx, id, decision, jobs)
	if apiErr != nil {
		api.WriteError(w, apiErr)
		return
	}
	now := time.Now().UTC()
	b := &scheduler.Batch{ID: batchID, Tenant: id.Tenant, CreatedAt: now, ExpiresAt: now.Add(batchRecordLife + time.Duration(h.app.ResultTTL))}
	views := make([]*scheduler.Job, len(res))
	for i, e := range res {
		b.JobIDs = append(b.JobIDs, e.Job.ID)
		views[i] = e.Job
	}
	if err := h.app.Jobs().CreateBatch(ctx, b); err != nil {
		h.log.ErrorContext(ctx, "storing a batch; canceling its jobs", "batch_id", batchID, "error", err)
		for _, e := range res {
			if !e.Cached {
				h.app.CancelQueued(context.WithoutCancel(ctx), e.Job.ID)
			}
		}
		api.WriteError(w, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "the job store is unavailable; the batch was not accepted"))
		return
	}
	h.log.InfoContext(ctx, "batch accepted", "batch_id", batchID, "jobs", len(jobs))
	v := batchView(b, views)
	for i, e := range res {
		v.Jobs[i].Cached = e.Cached
	}
	w.Header().Set("Location", v.Links.Self)
	writeJSON(w, http.StatusAccepted, v)
}

// discard deletes the stored inputs of a refused submission.
func (h *Handler) discard(ctx context.Context, staged []stagedInput) {
	for _, s := range staged {
		h.app.DiscardInput(ctx, s.jobID)
	}
}

// loadBatch returns the caller's batch and its jobs that still exist;
// another tenant's batch is reported missing.
func (h *Handler) loadBatch(r *http.Request) (*scheduler.Batch, []*scheduler.Job, *api.Error) {
	ctx := r.Context()
	bid := r.PathValue("id")
	b, err := h.app.Jobs().GetBatch(ctx, bid)
	if errors.Is(err, scheduler.ErrNotFound) || err == nil && b.Tenant != tenant(r) {
		return nil, nil, api.Errorf(http.StatusNotFound, api.CodeBatchNotFound, "no batch with id %q", bid).With("batch_id", bid)
	}
	if err != nil {
		h.log.ErrorContext(ctx, "reading batch", "batch_id", bid, "error", err)
		return nil, nil, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "the job store is unavailable")
	}
	jobs := make([]*scheduler.Job, len(b.JobIDs))
	for i, jid := range b.JobIDs {
		j, err := h.app.Jobs().Get(ctx, jid)
		switch {
		case errors.Is(err, scheduler.ErrNotFound):
		case err != nil:
			h.log.ErrorContext(ctx, "reading a batch's job", "batch_id", bid, "job_id", jid, "error", err)
			return nil, nil, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "the job store is unavailable")
		case j.Tenant == b.Tenant:
			jobs[i] = j
		}
	}
	return b, jobs, nil
}

// getBatch is GET /api/v1/batches/{id}.
func (h *Handler) getBatch(w http.ResponseWriter, r *http.Request) {
	b, jobs, apiErr := h.loadBatch(r)
	if apiErr != nil {
		api.WriteError(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, batchView(b, jobs))
}

// cancelBatch is DELETE /api/v1/batches/{id}: every job of the batch that
// has not finished is canceled (queued ones at once, running ones by their
// workers between pages); finished ones keep their results.
func (h *Handler) cancelBatch(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	b, jobs, apiErr := h.loadBatch(r)
	if apiErr != nil {
		api.WriteError(w, apiErr)
		return
	}
	for i, j := range jobs {
		if j == nil || j.Status.Terminal() || j.BatchID != b.ID {
			continue // a job answered from an earlier result is not this batch's to cancel
		}
		next, err := h.cancelJob(ctx, j.ID)
		switch {
		case errors.Is(err, errFinished) || errors.Is(err, scheduler.ErrNotFound):
			if cur, err := h.app.Jobs().Get(ctx, j.ID); err == nil {
				jobs[i] = cur
			}
		case err != nil:
			h.log.ErrorContext(ctx, "canceling a batch's job", "batch_id", b.ID, "job_id", j.ID, "error", err)
			api.WriteError(w, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "the job store is unavailable; some jobs may not be canceled"))
			return
		default:
			jobs[i] = next
		}
	}
	h.log.InfoContext(ctx, "batch cancel requested", "batch_id", b.ID)
	writeJSON(w, http.StatusOK, batchView(b, jobs))
}

// batchView aggregates a batch from its jobs; nil jobs are gone.
func batchView(b *scheduler.Batch, jobs []*scheduler.Job) api.Batch {
	v := api.Batch{ID: b.ID, BatchID: b.ID, Total: len(b.JobIDs), CreatedAt: b.CreatedAt, Jobs: []api.Job{},
		Links: api.BatchLinks{Self: "/api/v1/batches/" + b.ID}}
	c := &v.Counts
	for _, j := range jobs {
		if j == nil {
			c.Expired++
			continue
		}
		v.Jobs = append(v.Jobs, view(j))
		v.Progress.PagesTotal += j.Progress.PagesTotal
		v.Progress.PagesDone += j.Progress.PagesDone
		switch j.Status {
		case scheduler.StatusQueued:
			c.Queued++
		case scheduler.StatusRunning:
			c.Running++
		case scheduler.StatusSucceeded:
			c.Succeeded++
		case scheduler.StatusFailed:
			c.Failed++
		case scheduler.StatusCanceled:
			c.Canceled++
		}
	}
	switch {
	case c.Queued == v.Total:
		v.Status = string(scheduler.StatusQueued)
	case c.Queued+c.Running > 0:
		v.Status = string(scheduler.StatusRunning)
	case c.Succeeded == v.Total:
		v.Status = string(scheduler.StatusSucceeded)
	case c.Failed == v.Total:
		v.Status = string(scheduler.StatusFailed)
	case c.Canceled == v.Total:
		v.Status = string(scheduler.StatusCanceled)
	default:
		v.Status = api.BatchPartial
	}
	return v
}

// batchDenial is the 403 for several documents in one request from a tier
// without the batch feature.
func batchDenial(d *tiers.Decision) *api.Error {
	return docstrange.DenialError(&tiers.Decision{
		Reason: tiers.ReasonFeatureNotInTier, Feature: "batch", Tier: d.Tier,
		Message: fmt.Sprintf("the %s tier does not include batch: send one document per request", d.Tier),
	})
}
