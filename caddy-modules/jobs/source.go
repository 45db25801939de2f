package jobs

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/auth/tiers"
	"github.com/docstrange/mesh/caddy-modules/docstrange"
	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/sources/urlfetch"
	"github.com/docstrange/mesh/uploads"
)

// maxSourceBody bounds a JSON submission: a source and options, no document.
const maxSourceBody = 64 << 10

// sourceRequest is POST /api/v1/documents with a JSON body.
type sourceRequest struct {
	Source struct {
		// UploadID names a finished tus upload of the caller's.
		UploadID string `json:"upload_id"`
		// URL is a document to fetch; not served yet.
		URL string `json:"url"`
	} `json:"source"`
	Options json.RawMessage `json:"options"`
}

// readSource reads a JSON submission and stores its input.
func (h *Handler) readSource(w http.ResponseWriter, r *http.Request, jobID string, limit int64) (*scheduler.Job, *api.Error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSourceBody))
	if err != nil {
		return nil, invalid("body", "the JSON body is larger than %d bytes or could not be read", maxSourceBody)
	}
	var req sourceRequest
	if err := api.DecodeJSON(bytes.NewReader(body), &req); err != nil {
		if uf := (*api.UnknownFieldError)(nil); errors.As(err, &uf) {
			return nil, invalid(uf.Field, "unknown field %q; a JSON submission is {\"source\":{\"upload_id\":…},\"options\":{…}}", uf.Field)
		}
		return nil, invalid("body", "the body is not one JSON submission {\"source\":{…},\"options\":{…}}: %v", err)
	}
	fields := map[string]string{}
	if len(req.Options) > 0 && string(req.Options) != "null" {
		fields["options"] = string(req.Options)
	}
	opts, apiErr := parseOptions(fields)
	if apiErr != nil {
		return nil, apiErr
	}
	src := req.Source
	switch {
	case src.UploadID != "" && src.URL != "":
		return nil, invalid("source", "give one source: upload_id or url, not both")
	case src.URL != "":
		in, apiErr := h.urlInput(r, jobID, src.URL, limit)
		if apiErr != nil {
			return nil, apiErr
		}
		return &scheduler.Job{Options: opts, Input: *in}, nil
	case src.UploadID == "":
		return nil, invalid("source", "a JSON submission needs source.upload_id (a finished upload of yours from /api/v1/uploads/) or source.url")
	}
	in, apiErr := h.uploadInput(r, jobID, src.UploadID, limit)
	if apiErr != nil {
		return nil, apiErr
	}
	return &scheduler.Job{Options: opts, Input: *in}, nil
}

// uploadInput copies a finished upload of the caller's into the job's
// input, streaming: nothing holds the whole document in memory.
func (h *Handler) uploadInput(r *http.Request, jobID, uploadID string, limit int64) (*scheduler.Input, *api.Error) {
	ctx := r.Context()
	id := docstrange.IdentityOf(r)
	store := h.app.UploadStore()
	info, err := store.Info(ctx, uploadID)
	notFound := api.Errorf(http.StatusNotFound, api.CodeUploadNotFound, "no upload %q", uploadID).With("upload_id", uploadID)
	switch {
	case uploads.IsNotFound(err):
		return nil, notFound
	case err != nil:
		h.log.ErrorContext(ctx, "reading upload", "upload_id", uploadID, "error", err)
		return nil, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "upload storage is unavailable")
	case uploads.Owner(info) != id.Tenant:
		return nil, notFound
	case !uploads.Finished(info):
		return nil, api.Errorf(http.StatusConflict, api.CodeUploadNotFinished, "upload %q has %d of its bytes; finish it first", uploadID, info.Offset).
			With("upload_id", uploadID).With("offset", info.Offset)
	case info.Size > limit:
		return nil, errTooLarge(info.Size, limit)
	}
	rc, err := store.Open(ctx, uploadID)
	if err != nil {
		h.log.ErrorContext(ctx, "opening upload", "upload_id", uploadID, "error", err)
		return nil, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "upload storage is unavailable")
	}
	defer rc.Close()
	readErr := func(err error) *api.Error {
		h.log.ErrorContext(ctx, "reading upload", "upload_id", uploadID, "error", err)
		return api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "upload storage is unavailable")
	}
	in, apiErr := h.app.StoreInput(ctx, jobID, rc, info.MetaData["filename"], info.Size, limit, readErr)
	if apiErr != nil {
		return nil, apiErr
	}
	if in.Size != info.Size {
		return nil, readErr(errors.New("upload changed while it was read"))
	}
	return in, nil
}

// urlInput fetches a URL source into the job's input, streaming, once the
// tier may use URL sources and the URL passes the SSRF policy: the address
// is checked when it is resolved, on every redirect and at connect time.
func (h *Handler) urlInput(r *http.Request, jobID, raw string, limit int64) (*scheduler.Input, *api.Error) {
	ctx := r.Context()
	id := docstrange.IdentityOf(r)
	d, err := h.app.Policy().Decide(ctx, tiers.Input{
		Tier: id.Tier, Tenant: id.Tenant, Method: r.Method, Route: "/api/v1/documents",
		Options: tiers.Options{URLSource: true}, Size: -1,
	})
	if err != nil {
		h.log.ErrorContext(ctx, "evaluating tier policy", "error", err)
		return nil, api.Errorf(http.StatusInternalServerError, api.CodeInternal, "the request could not be authorised")
	}
	if !d.Allow {
		return nil, docstrange.DenialError(d)
	}
	f, err := h.app.URLFetcher(limit)
	if err != nil {
		h.log.ErrorContext(ctx, "configuring url fetcher", "error", err)
		return nil, api.Errorf(http.StatusInternalServerError, api.CodeInternal, "URL sources are misconfigured")
	}
	if err := f.Check(ctx, raw); err != nil {
		return nil, fetchError(raw, err, limit)
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := f.Fetch(ctx, raw, pw)
		pw.CloseWithError(err)
		done <- err
	}()
	var fetchErr error
	readErr := func(err error) *api.Error {
		fetchErr = err
		return fetchError(raw, err, limit)
	}
	in, apiErr := h.app.StoreInput(ctx, jobID, pr, urlFilename(raw), 0, limit, readErr)
	pr.CloseWithError(io.ErrClosedPipe) // stops the fetch if StoreInput gave up early
	if err := <-done; err != nil && fetchErr == nil && apiErr == nil {
		return nil, fetchError(raw, err, limit)
	}
	return in, apiErr
}

// fetchError maps a failed URL source: refusals are 400 URL_NOT_ALLOWED with
// the reason, a document over the limit 413, the origin's failures 422.
func fetchError(raw string, err error, limit int64) *api.Error {
	var refused *urlfetch.RefusedError
	var status *urlfetch.StatusError
	switch {
	case errors.As(err, &refused):
		return api.Errorf(http.StatusBadRequest, api.CodeURLNotAllowed, "the URL is not allowed: %s", refused.Reason).
			With("field", "source.url").With("reason", refused.Reason)
	case errors.Is(err, urlfetch.ErrRefused):
		return api.Errorf(http.StatusBadRequest, api.CodeURLNotAllowed, "the URL is not allowed: %v", err).With("field", "source.url")
	case errors.Is(err, urlfetch.ErrTooLarge):
		return docstrange.TooLarge(0, limit)
	case errors.As(err, &status):
		return api.Errorf(http.StatusUnprocessableEntity, api.CodeURLFetchFailed, "fetching the URL failed: the origin answered %d", status.StatusCode).
			With("field", "source.url").With("origin_status", status.StatusCode)
	case errors.Is(err, urlfetch.ErrTimeout):
		return api.Errorf(http.StatusUnprocessableEntity, api.CodeURLFetchFailed, "fetching the URL timed out").With("field", "source.url")
	}
	return api.Errorf(http.StatusUnprocessableEntity, api.CodeURLFetchFailed, "fetching the URL failed: %v", err).With("field", "source.url")
}

// urlFilename is the URL path's last element, for display.
func urlFilename(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return path.Base(u.Path)
}
