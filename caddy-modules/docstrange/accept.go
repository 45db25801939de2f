package docstrange

import (
	"bufio"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/auth"
	"github.com/docstrange/mesh/auth/tiers"
	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/blob"
	"github.com/docstrange/mesh/scheduler/extract"
)

// Accepting a document is shared by the job API (multipart and upload_id
// submissions) and the tus handler (uploads that ask to be processed when
// they complete): store the input, check it, ask the policy, count the
// quota, create the job.

// TooLarge is the 413 for a document over limit; size is what is known of
// the document's size (0 when nothing is).
func TooLarge(size, limit int64) *api.Error {
	e := api.Errorf(http.StatusRequestEntityTooLarge, api.CodeFileTooLarge, "File size exceeds maximum allowed limit").With("max_size", limit)
	if size > 0 {
		e = e.With("file_size", size)
	}
	return e
}

// Invalid is the 400 for a bad field.
func Invalid(field, format string, args ...any) *api.Error {
	return api.Errorf(http.StatusBadRequest, api.CodeInvalidRequest, format, args...).With("field", field)
}

// StoreInput streams src into job id's input blob, hashing on the way,
// after checking its type from its first bytes, and counts its pages.
// sizeHint is what the client declared, for error details; readErr maps a
// failure to read src (a malformed body, a body over its limit) to the
// answer the caller's protocol expects.
func (a *App) StoreInput(ctx context.Context, id string, src io.Reader, filename string, sizeHint, limit int64, readErr func(error) *api.Error) (*scheduler.Input, *api.Error) {
	br := bufio.NewReaderSize(src, extract.HeadLen)
	head, err := br.Peek(extract.HeadLen)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, readErr(err)
	}
	if len(head) == 0 {
		return nil, Invalid("file", "the file is empty")
	}
	kind, mediaType := extract.Detect(head)
	switch kind {
	case extract.KindPDF, extract.KindText:
	case extract.KindImage:
		if !a.OCRAvailable() {
			return nil, api.Errorf(http.StatusUnsupportedMediaType, api.CodeUnsupportedMediaType,
				"%s images need OCR, and no OCR backend is running on this deployment; send a PDF with a text layer, plain text or Markdown", mediaType).
				With("detected_type", mediaType)
		}
	default:
		return nil, api.Errorf(http.StatusUnsupportedMediaType, api.CodeUnsupportedMediaType,
			"the file's content is not a supported document type (PDF, image, plain text, Markdown), whatever its name says")
	}
	key := "jobs/" + id + "/input"
	info, err := a.blobs.Put(ctx, key, br, limit)
	var tooLarge *blob.TooLargeError
	if errors.As(err, &tooLarge) {
		return nil, TooLarge(max(sizeHint, tooLarge.Read), tooLarge.Limit)
	}
	if err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			a.reqLog.ErrorContext(ctx, "storing upload", "error", err)
			return nil, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "document storage is unavailable; nothing was accepted")
		}
		return nil, readErr(err)
	}
	in := &scheduler.Input{Key: key, MediaType: mediaType, Size: info.Size, SHA256: info.SHA256, Filename: SanitizeFilename(filename)}
	switch kind {
	case extract.KindText:
		in.Pages = 1
		return in, nil
	case extract.KindImage:
		return a.inspectImage(ctx, in)
	}
	path, err := a.blobs.Path(key)
	if err != nil {
		return nil, api.Errorf(http.StatusInternalServerError, api.CodeInternal, "storing the upload failed")
	}
	pi, err := a.inspector.Inspect(ctx, path)
	switch {
	case errors.Is(err, extract.ErrEncrypted):
		return nil, api.Errorf(http.StatusUnprocessableEntity, api.CodeUnprocessableDocument, "the PDF is encrypted; remove the password and send it again")
	case errors.Is(err, extract.ErrCorrupt):
		return nil, api.Errorf(http.StatusUnprocessableEntity, api.CodeUnprocessableDocument, "the PDF is damaged and cannot be opened")
	case err != nil:
		a.reqLog.ErrorContext(ctx, "inspecting PDF", "error", err)
		return nil, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "the PDF engine is unavailable")
	}
	if pi.Pages == 0 {
		return nil, api.Errorf(http.StatusUnprocessableEntity, api.CodeUnprocessableDocument, "the PDF has no pages")
	}
	if pi.Pages > a.MaxPages {
		return nil, api.Errorf(http.StatusUnprocessableEntity, api.CodeTooManyPages, "the PDF has %d pages; the limit is %d", pi.Pages, a.MaxPages).
			With("page_count", pi.Pages).With("max_pages", a.MaxPages)
	}
	in.Pages = pi.Pages
	return in, nil
}

// inspectImage reads only the image's headers: its pixel count and pages are
// checked before any pixel is decoded, so a decompression bomb costs nothing.
func (a *App) inspectImage(ctx context.Context, in *scheduler.Input) (*scheduler.Input, *api.Error) {
	rc, info, err := a.blobs.Open(ctx, in.Key)
	if err != nil {
		return nil, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "document storage is unavailable")
	}
	defer rc.Close()
	ra, ok := rc.(io.ReaderAt)
	if !ok {
		return nil, api.Errorf(http.StatusInternalServerError, api.CodeInternal, "document storage cannot read at offsets")
	}
	ii, err := extract.InspectImage(ctx, ra, info.Size, a.ImageLimits())
	switch {
	case errors.Is(err, extract.ErrImageTooLarge):
		return nil, api.Errorf(http.StatusUnprocessableEntity, api.CodeUnprocessableDocument, "the image has too many pixels to decode safely").
			With("max_pixels", a.ImageLimits().MaxPixels)
	case errors.Is(err, extract.ErrTooManyPages):
		return nil, api.Errorf(http.StatusUnprocessableEntity, api.CodeTooManyPages, "the image has more pages than allowed").
			With("max_pages", a.ImageLimits().MaxPages)
	case err != nil:
		return nil, api.Errorf(http.StatusUnprocessableEntity, api.CodeUnprocessableDocument, "the image cannot be read: %v", err)
	}
	in.Pages = ii.Pages
	return in, nil
}

// CheckJob validates normalised options against the stored input, and asks
// the policy again with the options and the size: authz only saw the route.
// The webhook URL is the caller's to check, once per request (CheckWebhook):
// a batch's documents share it.
func (a *App) CheckJob(ctx context.Context, id *auth.Identity, job *scheduler.Job) *api.Error {
	opts := job.Options
	if opts.OCR == scheduler.OCRForce && !a.OCRAvailable() {
		return Invalid("ocr", "ocr=force needs an OCR backend, and none is running on this deployment; use auto or off")
	}
	if opts.OCR == scheduler.OCROff && strings.HasPrefix(job.Input.MediaType, "image/") {
		return Invalid("ocr", "an image can only be read with OCR; ocr=off cannot be honoured")
	}
	selected, err := scheduler.SelectPages(opts.Pages, job.Input.Pages)
	if err != nil {
		return Invalid("pages", "%v", err).With("page_count", job.Input.Pages)
	}
	job.Progress = scheduler.Progress{PagesTotal: len(selected)}
	d, err := a.auth.policy.Decide(ctx, tiers.Input{
		Tier: id.Tier, Tenant: id.Tenant, Method: http.MethodPost, Route: "/api/v1/documents",
		Options: tiers.Options{Device: opts.Device, Webhook: opts.Webhook != nil, Batch: job.BatchID != ""}, Size: job.Input.Size,
	})
	if err != nil {
		a.reqLog.ErrorContext(ctx, "evaluating tier policy", "error", err)
		return api.Errorf(http.StatusInternalServerError, api.CodeInternal, "the request could not be authorised")
	}
	if !d.Allow {
		a.metrics.Denied(id.Tier, d.Reason)
		return DenialError(d)
	}
	if opts.Device == scheduler.DeviceGPU && a.Store != StoreRedis {
		// A GPU job never runs on CPU by surprise (DESIGN §5), and the
		// embedded single node has no GPU worker to wait for.
		return Invalid("device", "this single-node deployment has no GPU worker; use device=auto or device=cpu")
	}
	return nil
}

// Enqueued is what Enqueue did.
type Enqueued struct {
	// Job is the new job, or the earlier one answering for it.
	Job *scheduler.Job
	// Replayed: a concurrent request with the same Idempotency-Key won,
	// and Job is that one.
	Replayed bool
	// Cached: the tenant already has a finished job for the same content
	// and options, and Job is that one; nothing new runs or is counted.
	Cached bool
}

// Enqueue counts the document against the tenant's quota, atomically, and
// creates the job, giving the quota back if the job cannot be stored. The
// job's ID, input and options are set; Enqueue fills in the rest. When
// Replayed or Cached, this job's input is deleted.
func (a *App) Enqueue(ctx context.Context, id *auth.Identity, d *tiers.Decision, job *scheduler.Job) (Enqueued, *api.Error) {
	if prev := a.cached(ctx, id, job); prev != nil {
		return Enqueued{Job: prev, Cached: true}, nil
	}
	release, apiErr := a.reserve(ctx, id, d, 1)
	if apiErr != nil {
		return Enqueued{}, apiErr
	}
	created, err := a.create(ctx, id, d, job)
	if err != nil {
		release(1)
	}
	if errors.Is(err, scheduler.ErrDuplicate) {
		a.DiscardInput(ctx, job.ID)
		return Enqueued{Job: created, Replayed: true}, nil
	}
	if err != nil {
		a.DiscardInput(ctx, job.ID)
		a.reqLog.ErrorContext(ctx, "creating job", "error", err)
		return Enqueued{}, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "the job store is unavailable; nothing was accepted")
	}
	return Enqueued{Job: created}, nil
}

// EnqueueBatch is Enqueue for the jobs of one batch, all or nothing: the
// documents not answered from earlier results are counted against the
// quota in one atomic step, and if a job cannot be stored, the ones already
// stored are canceled, the quota is given back and nothing is accepted.
// Each job's BatchID is set. The results are in the order of jobs.
func (a *App) EnqueueBatch(ctx context.Context, id *auth.Identity, d *tiers.Decision, jobs []*scheduler.Job) ([]Enqueued, *api.Error) {
	out := make([]Enqueued, len(jobs))
	n := int64(0)
	for i, job := range jobs {
		if prev := a.cached(ctx, id, job); prev != nil {
			out[i] = Enqueued{Job: prev, Cached: true}
		} else {
			n++
		}
	}
	release, apiErr := a.reserve(ctx, id, d, n)
	if apiErr != nil {
		for i, job := range jobs {
			if !out[i].Cached {
				a.DiscardInput(ctx, job.ID)
			}
		}
		return nil, apiErr
	}
	for i, job := range jobs {
		if out[i].Cached {
			continue
		}
		created, err := a.create(ctx, id, d, job)
		if err != nil {
			a.reqLog.ErrorContext(ctx, "creating a batch's job; canceling the batch", "error", err)
			for k, job := range jobs {
				switch {
				case k < i && !out[k].Cached:
					a.CancelQueued(context.WithoutCancel(ctx), job.ID)
				case k >= i && !out[k].Cached:
					a.DiscardInput(ctx, job.ID)
				}
			}
			release(n)
			return nil, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "the job store is unavailable; nothing was accepted")
		}
		out[i] = Enqueued{Job: created}
	}
	return out, nil
}

// CancelQueued cancels a job that has not started, as DELETE does, for a
// batch that could not be accepted whole; a job a worker already took gets
// its cancel flag.
func (a *App) CancelQueued(ctx context.Context, jobID string) {
	_, err := a.jobs.Update(ctx, jobID, func(j *scheduler.Job) error {
		if j.Status.Terminal() {
			return nil
		}
		j.CancelRequested = true
		if j.Status == scheduler.StatusQueued {
			now := time.Now().UTC()
			j.Status, j.FinishedAt, j.ExpiresAt = scheduler.StatusCanceled, now, now.Add(time.Duration(a.ResultTTL))
		}
		return nil
	})
	if err != nil {
		a.reqLog.ErrorContext(ctx, "canceling a job of a refused batch", "job_id", jobID, "error", err)
	}
}

// cached returns the tenant's earlier finished job for the same content and
// options, deleting job's input, or nil; it sets job.DedupeKey.
func (a *App) cached(ctx context.Context, id *auth.Identity, job *scheduler.Job) *scheduler.Job {
	if a.Dedupe != DedupeTenant {
		return nil
	}
	job.DedupeKey = scheduler.DedupeKey(id.Tenant, job.Input.SHA256, job.Options)
	prev, err := a.jobs.FindDedupe(ctx, job.DedupeKey)
	switch {
	case err == nil && prev.Tenant == id.Tenant:
		a.DiscardInput(ctx, job.ID)
		a.metrics.DedupeHit()
		return prev
	case err != nil && !errors.Is(err, scheduler.ErrNotFound):
		// A failing lookup only costs the work dedupe would save.
		a.reqLog.WarnContext(ctx, "looking up an earlier result", "error", err)
	}
	return nil
}

// reserve counts n documents against the tenant's quota, or refuses; the
// returned function gives back up to n of them.
func (a *App) reserve(ctx context.Context, id *auth.Identity, d *tiers.Decision, n int64) (release func(int64), apiErr *api.Error) {
	noop := func(int64) {}
	if n == 0 {
		return noop, nil
	}
	quota := QuotaOf(d.Limits)
	reservedAt := time.Now()
	res, err := a.auth.quotas.Reserve(ctx, id.Tenant, quota, n, reservedAt)
	switch {
	case err != nil && a.FailOpen():
		a.metrics.StoreError(FailOpen)
		a.reqLog.WarnContext(ctx, "quota store failed; accepting uncounted (on_store_error open)", "error", err)
		return noop, nil
	case err != nil:
		a.metrics.StoreError(FailClosed)
		a.reqLog.ErrorContext(ctx, "quota store failed; refusing (on_store_error closed)", "error", err)
		e := api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "the document quota cannot be checked right now; nothing was accepted")
		e.RetryAfter = 1
		return nil, e
	case !res.Allowed:
		a.metrics.Limited(id.Tier, api.CodeQuotaExceeded)
		e := QuotaExceeded(id.Tier, string(quota.Period), res.Used, res.Limit, res.Reset)
		if n > 1 {
			e = e.With("documents", n)
		}
		return nil, e
	}
	return func(k int64) {
		if rerr := a.auth.quotas.Release(context.WithoutCancel(ctx), id.Tenant, quota, k, reservedAt); rerr != nil {
			a.reqLog.ErrorContext(ctx, "releasing quota reservation", "tenant", id.Tenant, "error", rerr)
		}
	}, nil
}

// create fills in the job's accept-time fields and stores it.
func (a *App) create(ctx context.Context, id *auth.Identity, d *tiers.Decision, job *scheduler.Job) (*scheduler.Job, error) {
	job.Tenant = id.Tenant
	job.Priority = d.Limits.Priority
	job.Status = scheduler.StatusQueued
	job.CreatedAt = time.Now().UTC()
	job.Region = a.Region
	created, err := a.jobs.Create(ctx, job)
	if err != nil {
		return created, err
	}
	a.metrics.JobAccepted(created.Input.Size)
	a.reqLog.InfoContext(ctx, "job accepted", "job_id", created.ID, "tenant", id.Tenant, "media_type", created.Input.MediaType,
		"size", created.Input.Size, "pages", created.Input.Pages, "batch_id", created.BatchID)
	return created, nil
}

// DiscardInput deletes what a refused submission stored.
func (a *App) DiscardInput(ctx context.Context, jobID string) {
	a.blobs.DeletePrefix(context.WithoutCancel(ctx), "jobs/"+jobID)
}
