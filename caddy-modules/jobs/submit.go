package jobs

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/rs/xid"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/caddy-modules/docstrange"
	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/blob"
	"github.com/docstrange/mesh/scheduler/extract"
)

const (
	// multipartSlack allows for form fields and part headers on top of the
	// file itself.
	multipartSlack = 1 << 20
	// maxFieldSize bounds one non-file form field.
	maxFieldSize = 64 << 10
	// sniffLen is how much of the file the type detection sees.
	sniffLen = extract.HeadLen
	// maxIdempotencyKey bounds the Idempotency-Key header.
	maxIdempotencyKey = 255
)

// formFields are the option fields accepted beside the file. "options" holds
// them all as one JSON object instead.
var formFields = map[string]bool{
	"options": true, "output_formats": true, "pages": true, "ocr": true, "languages": true, "device": true,
}

func errTooLarge(size, limit int64) *api.Error {
	e := api.Errorf(http.StatusRequestEntityTooLarge, api.CodeFileTooLarge, "File size exceeds maximum allowed limit").With("max_size", limit)
	if size > 0 {
		e = e.With("file_size", size)
	}
	return e
}

func invalid(field, format string, args ...any) *api.Error {
	return api.Errorf(http.StatusBadRequest, api.CodeInvalidRequest, format, args...).With("field", field)
}

// submit is POST /api/v1/documents with a multipart body: one "file" part
// and options either as one JSON "options" field or as separate fields.
func (h *Handler) submit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	decision := docstrange.DecisionOf(r)
	if decision == nil || decision.Limits == nil {
		// Submissions spend quota and carry tier limits: without a
		// decision there is nothing to enforce them with, so refuse.
		h.log.ErrorContext(ctx, "docstrange_jobs serves a submission without docstrange_authz before it; refusing")
		api.WriteError(w, api.Errorf(http.StatusInternalServerError, api.CodeInternal, "the edge is misconfigured"))
		return
	}
	// The tier's limit applies while the body streams in; the deployment's
	// own ceiling bounds every tier.
	limit := min(h.app.MaxUploadSize, decision.Limits.MaxFileSize)
	if r.ContentLength > limit+multipartSlack {
		api.WriteError(w, errTooLarge(r.ContentLength, limit))
		return
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case err == nil && mediaType == "multipart/form-data":
	case err == nil && mediaType == "application/json":
		api.WriteError(w, invalid("source", "JSON sources (url, upload_id) are not available on this deployment yet; send the document as the multipart field \"file\""))
		return
	default:
		api.WriteError(w, api.Errorf(http.StatusUnsupportedMediaType, api.CodeUnsupportedMediaType,
			"Content-Type must be multipart/form-data with the document in the field \"file\""))
		return
	}
	idem := r.Header.Get("Idempotency-Key")
	if len(idem) > maxIdempotencyKey {
		api.WriteError(w, invalid("Idempotency-Key", "the Idempotency-Key header is longer than %d bytes", maxIdempotencyKey))
		return
	}
	owner := tenant(r)
	if idem != "" {
		if prev, err := h.app.Jobs().FindIdempotent(ctx, owner, idem); err == nil {
			h.replay(w, prev)
			return
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit+multipartSlack)
	id := "job_" + xid.New().String()
	job, apiErr := h.readForm(ctx, r, id, limit)
	if apiErr == nil {
		apiErr = h.authorize(r, job)
	}
	if apiErr != nil {
		h.app.Blobs().DeletePrefix(context.WithoutCancel(ctx), "jobs/"+id)
		api.WriteError(w, apiErr)
		return
	}
	// The quota is counted at accept, atomically, and given back if the
	// job cannot be stored.
	quota := docstrange.QuotaOf(decision.Limits)
	reservedAt := time.Now()
	if answered := h.reserve(w, r, quota, owner, reservedAt); answered {
		h.app.Blobs().DeletePrefix(context.WithoutCancel(ctx), "jobs/"+id)
		return
	}
	job.ID, job.Tenant, job.IdempotencyKey = id, owner, idem
	job.Priority = decision.Limits.Priority
	job.RequestID = requestID(r)
	job.Status = scheduler.StatusQueued
	job.CreatedAt = time.Now().UTC()
	job.Region = h.app.Region
	created, err := h.app.Jobs().Create(ctx, job)
	if err != nil {
		h.release(r, quota, owner, reservedAt)
	}
	if errors.Is(err, scheduler.ErrDuplicate) {
		// A concurrent request with the same key won; this upload is surplus.
		h.app.Blobs().DeletePrefix(context.WithoutCancel(ctx), "jobs/"+id)
		h.replay(w, created)
		return
	}
	if err != nil {
		h.app.Blobs().DeletePrefix(context.WithoutCancel(ctx), "jobs/"+id)
		h.log.ErrorContext(ctx, "creating job", "error", err)
		api.WriteError(w, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "the job store is unavailable; nothing was accepted"))
		return
	}
	h.app.Metrics().JobAccepted(created.Input.Size)
	h.log.InfoContext(ctx, "job accepted", "job_id", created.ID, "tenant", owner, "media_type", created.Input.MediaType,
		"size", created.Input.Size, "pages", created.Input.Pages)
	w.Header().Set("Location", "/api/v1/jobs/"+created.ID)
	writeJSON(w, http.StatusAccepted, view(created))
}

// replay answers a repeated Idempotency-Key with the job it created.
func (h *Handler) replay(w http.ResponseWriter, j *scheduler.Job) {
	w.Header().Set("Idempotent-Replayed", "true")
	w.Header().Set("Location", "/api/v1/jobs/"+j.ID)
	writeJSON(w, http.StatusAccepted, view(j))
}

func (h *Handler) readForm(ctx context.Context, r *http.Request, id string, limit int64) (*scheduler.Job, *api.Error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, invalid("body", "malformed multipart body: %v", err)
	}
	fields := map[string]string{}
	var input *scheduler.Input
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, bodyError(r, err, limit)
		}
		name := part.FormName()
		switch {
		case name == "file":
			if input != nil {
				return nil, invalid("file", "one document per request: send several documents as separate requests")
			}
			var apiErr *api.Error
			if input, apiErr = h.storeInput(ctx, r, id, part, limit); apiErr != nil {
				return nil, apiErr
			}
		case formFields[name]:
			if _, dup := fields[name]; dup {
				return nil, invalid(name, "the field %q appears twice", name)
			}
			b, err := io.ReadAll(io.LimitReader(part, maxFieldSize+1))
			if err != nil {
				return nil, bodyError(r, err, limit)
			}
			if len(b) > maxFieldSize {
				return nil, invalid(name, "the field %q is longer than %d bytes", name, maxFieldSize)
			}
			fields[name] = string(b)
		default:
			return nil, invalid(name, "unknown form field %q; allowed: file, options, output_formats, pages, ocr, languages, device", name)
		}
	}
	if input == nil {
		return nil, invalid("file", "the multipart field \"file\" with the document is required")
	}
	opts, apiErr := parseOptions(fields)
	if apiErr != nil {
		return nil, apiErr
	}
	if opts.OCR == scheduler.OCRForce && !h.app.OCRAvailable() {
		return nil, invalid("ocr", "ocr=force needs an OCR backend, and none is running on this deployment; use auto or off")
	}
	if opts.OCR == scheduler.OCROff && strings.HasPrefix(input.MediaType, "image/") {
		return nil, invalid("ocr", "an image can only be read with OCR; ocr=off cannot be honoured")
	}
	selected, err := scheduler.SelectPages(opts.Pages, input.Pages)
	if err != nil {
		return nil, invalid("pages", "%v", err).With("page_count", input.Pages)
	}
	return &scheduler.Job{Options: opts, Input: *input, Progress: scheduler.Progress{PagesTotal: len(selected)}}, nil
}

// bodyError maps a failure to read the request body.
func bodyError(r *http.Request, err error, limit int64) *api.Error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errTooLarge(r.ContentLength, limit)
	}
	return invalid("body", "malformed multipart body: %v", err)
}

// storeInput streams the file part to blob storage, hashing on the way,
// after checking its type from its first bytes.
func (h *Handler) storeInput(ctx context.Context, r *http.Request, id string, part *multipart.Part, limit int64) (*scheduler.Input, *api.Error) {
	br := bufio.NewReaderSize(part, sniffLen)
	head, err := br.Peek(sniffLen)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, bodyError(r, err, limit)
	}
	if len(head) == 0 {
		return nil, invalid("file", "the file is empty")
	}
	kind, mediaType := extract.Detect(head)
	switch kind {
	case extract.KindPDF, extract.KindText:
	case extract.KindImage:
		if !h.app.OCRAvailable() {
			return nil, api.Errorf(http.StatusUnsupportedMediaType, api.CodeUnsupportedMediaType,
				"%s images need OCR, and no OCR backend is running on this deployment; send a PDF with a text layer, plain text or Markdown", mediaType).
				With("detected_type", mediaType)
		}
	default:
		return nil, api.Errorf(http.StatusUnsupportedMediaType, api.CodeUnsupportedMediaType,
			"the file's content is not a supported document type (PDF, plain text, Markdown), whatever its name says")
	}
	key := "jobs/" + id + "/input"
	info, err := h.app.Blobs().Put(ctx, key, br, limit)
	var tooLarge *blob.TooLargeError
	if errors.As(err, &tooLarge) {
		return nil, errTooLarge(max(r.ContentLength, tooLarge.Read), tooLarge.Limit)
	}
	if err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			h.log.ErrorContext(ctx, "storing upload", "error", err)
			return nil, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "document storage is unavailable; nothing was accepted")
		}
		return nil, bodyError(r, err, limit)
	}
	in := &scheduler.Input{Key: key, MediaType: mediaType, Size: info.Size, SHA256: info.SHA256, Filename: sanitizeFilename(part.FileName())}
	switch kind {
	case extract.KindText:
		in.Pages = 1
		return in, nil
	case extract.KindImage:
		return h.inspectImage(ctx, in)
	}
	path, err := h.app.Blobs().Path(key)
	if err != nil {
		return nil, api.Errorf(http.StatusInternalServerError, api.CodeInternal, "storing the upload failed")
	}
	pi, err := h.app.Inspector().Inspect(ctx, path)
	switch {
	case errors.Is(err, extract.ErrEncrypted):
		return nil, api.Errorf(http.StatusUnprocessableEntity, api.CodeUnprocessableDocument, "the PDF is encrypted; remove the password and send it again")
	case errors.Is(err, extract.ErrCorrupt):
		return nil, api.Errorf(http.StatusUnprocessableEntity, api.CodeUnprocessableDocument, "the PDF is damaged and cannot be opened")
	case err != nil:
		h.log.ErrorContext(ctx, "inspecting PDF", "error", err)
		return nil, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "the PDF engine is unavailable")
	}
	if pi.Pages == 0 {
		return nil, api.Errorf(http.StatusUnprocessableEntity, api.CodeUnprocessableDocument, "the PDF has no pages")
	}
	if pi.Pages > h.app.MaxPages {
		return nil, api.Errorf(http.StatusUnprocessableEntity, api.CodeTooManyPages, "the PDF has %d pages; the limit is %d", pi.Pages, h.app.MaxPages).
			With("page_count", pi.Pages).With("max_pages", h.app.MaxPages)
	}
	in.Pages = pi.Pages
	return in, nil
}

// parseOptions reads the options JSON field or the separate fields, not
// both, and validates them.
func parseOptions(fields map[string]string) (scheduler.Options, *api.Error) {
	var o scheduler.Options
	if raw, ok := fields["options"]; ok {
		for name := range fields {
			if name != "options" {
				return o, invalid(name, "give options either as the JSON field \"options\" or as separate fields, not both")
			}
		}
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			return o, optionsJSONError(err)
		}
	} else {
		o.OutputFormats = splitList(fields["output_formats"])
		o.Pages = strings.TrimSpace(fields["pages"])
		o.OCR = strings.TrimSpace(fields["ocr"])
		o.Languages = splitList(fields["languages"])
		o.Device = strings.TrimSpace(fields["device"])
	}
	if err := o.Normalize(); err != nil {
		var fe *scheduler.FieldError
		if errors.As(err, &fe) {
			return o, invalid(fe.Field, "%s", fe.Error()).With("value", fe.Value)
		}
		return o, invalid("options", "%v", err)
	}
	return o, nil
}

func optionsJSONError(err error) *api.Error {
	msg := err.Error()
	if field, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		field = strings.Trim(field, `"`)
		return invalid(field, "unknown option %q", field)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return invalid(te.Field, "option %q must be a %s", te.Field, te.Type.String())
	}
	return invalid("options", "the options field is not a JSON object: %v", err)
}

func splitList(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// inspectImage reads only the image's headers: its pixel count and pages are
// checked before any pixel is decoded, so a decompression bomb costs nothing.
func (h *Handler) inspectImage(ctx context.Context, in *scheduler.Input) (*scheduler.Input, *api.Error) {
	rc, info, err := h.app.Blobs().Open(ctx, in.Key)
	if err != nil {
		return nil, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "document storage is unavailable")
	}
	defer rc.Close()
	ra, ok := rc.(io.ReaderAt)
	if !ok {
		return nil, api.Errorf(http.StatusInternalServerError, api.CodeInternal, "document storage cannot read at offsets")
	}
	ii, err := extract.InspectImage(ctx, ra, info.Size, h.app.ImageLimits())
	switch {
	case errors.Is(err, extract.ErrImageTooLarge):
		return nil, api.Errorf(http.StatusUnprocessableEntity, api.CodeUnprocessableDocument, "the image has too many pixels to decode safely").
			With("max_pixels", h.app.ImageLimits().MaxPixels)
	case errors.Is(err, extract.ErrTooManyPages):
		return nil, api.Errorf(http.StatusUnprocessableEntity, api.CodeTooManyPages, "the image has more pages than allowed").
			With("max_pages", h.app.ImageLimits().MaxPages)
	case err != nil:
		return nil, api.Errorf(http.StatusUnprocessableEntity, api.CodeUnprocessableDocument, "the image cannot be read: %v", err)
	}
	in.Pages = ii.Pages
	return in, nil
}
