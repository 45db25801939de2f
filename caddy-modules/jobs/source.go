package jobs

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/caddy-modules/docstrange"
	"github.com/docstrange/mesh/scheduler"
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
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			f = strings.Trim(f, `"`)
			return nil, invalid(f, "unknown field %q; a JSON submission is {\"source\":{\"upload_id\":…},\"options\":{…}}", f)
		}
		return nil, invalid("body", "the body is not a JSON submission {\"source\":{…},\"options\":{…}}: %v", err)
	}
	if dec.More() {
		return nil, invalid("body", "the body holds more than one JSON value")
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
		return nil, invalid("source.url", "URL sources are not served by this deployment yet; upload the document with tus and submit its upload_id, or send it as multipart")
	case src.UploadID == "":
		return nil, invalid("source", "a JSON submission needs source.upload_id (a finished upload of yours from /api/v1/uploads/)")
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
