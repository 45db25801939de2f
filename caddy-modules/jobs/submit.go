package jobs

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"

	"github.com/rs/xid"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/auth/tiers"
	"github.com/docstrange/mesh/caddy-modules/docstrange"
	"github.com/docstrange/mesh/scheduler"
)

const (
	// multipartSlack allows for form fields and part headers on top of the
	// file itself.
	multipartSlack = 1 << 20
	// maxFieldSize bounds one non-file form field.
	maxFieldSize = 64 << 10
	// maxIdempotencyKey bounds the Idempotency-Key header.
	maxIdempotencyKey = 255
)

// formFields are the option fields accepted beside the file. "options" holds
// them all as one JSON object instead.
var formFields = map[string]bool{
	"options": true, "output_formats": true, "pages": true, "ocr": true, "languages": true, "device": true,
}

func errTooLarge(size, limit int64) *api.Error { return docstrange.TooLarge(size, limit) }

func invalid(field, format string, args ...any) *api.Error {
	return docstrange.Invalid(field, format, args...)
}

// submit is POST /api/v1/documents: a multipart body with one "file" part
// and options either as one JSON "options" field or as separate fields, or
// a JSON body naming a finished upload as the source.
func (h *Handler) submit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, decision := docstrange.IdentityOf(r), docstrange.DecisionOf(r)
	if id == nil || decision == nil || decision.Limits == nil {
		// Submissions spend quota and carry tier limits: without a
		// decision there is nothing to enforce them with, so refuse.
		h.log.ErrorContext(ctx, "docstrange_jobs serves a submission without docstrange_authn and docstrange_authz before it; refusing")
		api.WriteError(w, api.Errorf(http.StatusInternalServerError, api.CodeInternal, "the edge is misconfigured"))
		return
	}
	// The tier's limit applies while the body streams in; the deployment's
	// own ceiling bounds every tier.
	limit := min(h.app.MaxUploadSize, decision.Limits.MaxFileSize)
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isJSON := err == nil && mediaType == "application/json"
	switch {
	case err == nil && mediaType == "multipart/form-data":
		if r.ContentLength > int64(maxDocuments(decision))*limit+multipartSlack {
			api.WriteError(w, errTooLarge(r.ContentLength, limit))
			return
		}
	case isJSON:
	default:
		api.WriteError(w, api.Errorf(http.StatusUnsupportedMediaType, api.CodeUnsupportedMediaType,
			"Content-Type must be multipart/form-data with the document in the field \"file\", or application/json with a source"))
		return
	}
	idem := r.Header.Get("Idempotency-Key")
	if len(idem) > maxIdempotencyKey {
		api.WriteError(w, invalid("Idempotency-Key", "the Idempotency-Key header is longer than %d bytes", maxIdempotencyKey))
		return
	}
	// A repeated key is answered only once the body is read: the same
	// request replays the first job, a different one is refused.
	var prev *scheduler.Job
	if idem != "" {
		if j, err := h.app.Jobs().FindIdempotent(ctx, id.Tenant, idem); err == nil {
			prev = j
		}
	}
	jobID := "job_" + xid.New().String()
	var job *scheduler.Job
	var apiErr *api.Error
	if isJSON {
		job, apiErr = h.readSource(w, r, jobID, limit)
	} else {
		// Several "file" parts make a batch (DESIGN §2), for tiers with
		// the feature; each document has the tier's size limit.
		maxFiles, tooMany := maxDocuments(decision), func(int) *api.Error { return batchDenial(decision) }
		if decision.HasFeature("batch") {
			tooMany = func(int) *api.Error { return errBatchTooLarge(maxFiles, id.Tier) }
		}
		r.Body = http.MaxBytesReader(w, r.Body, int64(maxFiles)*limit+multipartSlack)
		var staged []stagedInput
		var fields map[string]string
		staged, fields, apiErr = h.readFormInputs(ctx, r, limit, maxFiles, tooMany)
		switch {
		case apiErr == nil && len(staged) == 0:
			apiErr = invalid("file", "the multipart field \"file\" with the document is required")
		case apiErr == nil && len(staged) > 1:
			h.submitFormBatch(w, r, idem, staged, fields)
			return
		case apiErr == nil:
			jobID = staged[0].jobID
			var opts scheduler.Options
			if opts, apiErr = parseOptions(fields); apiErr == nil {
				job = &scheduler.Job{Options: opts, Input: *staged[0].input}
			}
		}
	}
	if apiErr == nil {
		apiErr = h.app.CheckJob(ctx, id, job)
	}
	if apiErr == nil {
		apiErr = h.app.CheckWebhook(ctx, job.Options.Webhook)
	}
	if apiErr != nil {
		h.app.DiscardInput(ctx, jobID)
		api.WriteError(w, apiErr)
		return
	}
	if prev != nil {
		h.app.DiscardInput(ctx, jobID)
		h.replayIfSame(w, prev, job)
		return
	}
	job.ID, job.IdempotencyKey, job.RequestID = jobID, idem, requestID(r)
	res, apiErr := h.app.Enqueue(ctx, id, decision, job)
	switch {
	case apiErr != nil:
		h.app.DiscardInput(ctx, jobID)
		api.WriteError(w, apiErr)
	case res.Replayed:
		// A concurrent request with the same key won.
		h.replayIfSame(w, res.Job, job)
	case res.Cached:
		// The result is ready: 200, not 202.
		v := view(res.Job)
		v.Cached = true
		w.Header().Set("Location", "/api/v1/jobs/"+res.Job.ID)
		writeJSON(w, http.StatusOK, v)
	default:
		w.Header().Set("Location", "/api/v1/jobs/"+res.Job.ID)
		writeJSON(w, http.StatusAccepted, view(res.Job))
	}
}

// maxDocuments is how many documents one submission may carry: the tier's
// batch size with the batch feature, else one.
func maxDocuments(d *tiers.Decision) int {
	if d.HasFeature("batch") {
		return max(int(d.Limits.MaxBatchSize), 1)
	}
	return 1
}

// submitFormBatch accepts the documents of a multipart submission with
// several "file" parts as one batch.
func (h *Handler) submitFormBatch(w http.ResponseWriter, r *http.Request, idem string, staged []stagedInput, fields map[string]string) {
	if idem != "" {
		h.discard(r.Context(), staged)
		api.WriteError(w, invalid("Idempotency-Key", "Idempotency-Key is not supported on batches; submit documents one by one to retry them safely"))
		return
	}
	opts, apiErr := parseOptions(fields)
	if apiErr != nil {
		h.discard(r.Context(), staged)
		api.WriteError(w, apiErr)
		return
	}
	h.acceptBatch(w, r, staged, opts)
}

// replayIfSame answers a repeated Idempotency-Key: the first job when the
// request is the same (same content, same normalised options), 422 when the
// key is reused for something else.
func (h *Handler) replayIfSame(w http.ResponseWriter, prev, job *scheduler.Job) {
	if prev.Input.SHA256 == job.Input.SHA256 && reflect.DeepEqual(prev.Options, job.Options) {
		h.replay(w, prev)
		return
	}
	api.WriteError(w, api.Errorf(http.StatusUnprocessableEntity, api.CodeIdempotencyKeyReused,
		"this Idempotency-Key was used for a different request (job %s); use a new key for a new document or new options", prev.ID).
		With("job_id", prev.ID).With("field", "Idempotency-Key"))
}

// replay answers a repeated Idempotency-Key with the job it created.
func (h *Handler) replay(w http.ResponseWriter, j *scheduler.Job) {
	w.Header().Set("Idempotent-Replayed", "true")
	w.Header().Set("Location", "/api/v1/jobs/"+j.ID)
	writeJSON(w, http.StatusAccepted, view(j))
}

// readFormInputs reads a multipart body: each "file" part is stored as
// the input of a new job id, at most maxFiles of them (tooMany gives the
// error for one more), and the option fields are returned. On an error,
// what was stored is deleted.
func (h *Handler) readFormInputs(ctx context.Context, r *http.Request, limit int64, maxFiles int, tooMany func(n int) *api.Error) (staged []stagedInput, fields map[string]string, apiErr *api.Error) {
	defer func() {
		if apiErr != nil {
			h.discard(ctx, staged)
			staged = nil
		}
	}()
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, invalid("body", "malformed multipart body: %v", err)
	}
	fields = map[string]string{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return staged, nil, bodyError(r, err, limit)
		}
		name := part.FormName()
		switch {
		case name == "file":
			if len(staged) == maxFiles {
				return staged, nil, tooMany(len(staged) + 1)
			}
			jobID := "job_" + xid.New().String()
			readErr := func(err error) *api.Error { return bodyError(r, err, limit) }
			in, apiErr := h.app.StoreInput(ctx, jobID, part, part.FileName(), r.ContentLength, limit, readErr)
			if apiErr != nil {
				h.app.DiscardInput(ctx, jobID)
				if len(staged) > 0 || maxFiles > 1 {
					apiErr = apiErr.With("index", len(staged)).With("filename", docstrange.SanitizeFilename(part.FileName()))
				}
				return staged, nil, apiErr
			}
			staged = append(staged, stagedInput{jobID: jobID, input: in})
		case formFields[name]:
			if _, dup := fields[name]; dup {
				return staged, nil, invalid(name, "the field %q appears twice", name)
			}
			b, err := io.ReadAll(io.LimitReader(part, maxFieldSize+1))
			if err != nil {
				return staged, nil, bodyError(r, err, limit)
			}
			if len(b) > maxFieldSize {
				return staged, nil, invalid(name, "the field %q is longer than %d bytes", name, maxFieldSize)
			}
			fields[name] = string(b)
		default:
			return staged, nil, invalid(name, "unknown form field %q; allowed: file, options, output_formats, pages, ocr, languages, device", name)
		}
	}
	return staged, fields, nil
}

// bodyError maps a failure to read the request body.
func bodyError(r *http.Request, err error, limit int64) *api.Error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errTooLarge(r.ContentLength, limit)
	}
	return invalid("body", "malformed multipart body: %v", err)
}

// parseOptions reads the options JSON field or the separate fields.
func parseOptions(fields map[string]string) (scheduler.Options, *api.Error) {
	return docstrange.ParseOptions(fields)
}
