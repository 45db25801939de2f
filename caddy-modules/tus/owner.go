package tus

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	tusd "github.com/tus/tusd/v2/pkg/handler"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/caddy-modules/docstrange"
	"github.com/docstrange/mesh/uploads"
)

// Metadata bounds, besides the header's own size.
const (
	maxMetaKeys     = 32
	maxMetaKeyLen   = 64
	maxMetaValueLen = 1024
)

// preCreate runs in tusd before an upload exists: it applies the tier's
// size limit, checks and cleans the metadata, and records the owner and
// creation time.
func (h *Handler) preCreate(hook tusd.HookEvent) (tusd.HTTPResponse, tusd.FileInfoChanges, error) {
	id, d := docstrange.IdentityFrom(hook.Context), docstrange.DecisionFrom(hook.Context)
	if id == nil || d == nil || d.Limits == nil {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusd.NewError("ERR_MISCONFIGURED", "the edge is misconfigured", http.StatusInternalServerError)
	}
	limit := min(h.MaxSize, d.Limits.MaxFileSize)
	if !hook.Upload.SizeIsDeferred && hook.Upload.Size > limit {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusd.NewError("ERR_MAX_SIZE_EXCEEDED",
			"upload of "+strconv.FormatInt(hook.Upload.Size, 10)+" bytes exceeds the "+id.Tier+" tier's limit of "+strconv.FormatInt(limit, 10)+" bytes", http.StatusRequestEntityTooLarge)
	}
	meta, err := cleanMetadata(hook.Upload.MetaData)
	if err != nil {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, err
	}
	meta[uploads.MetaOwner] = id.Tenant
	meta[uploads.MetaCreated] = time.Now().UTC().Format(time.RFC3339Nano)
	return tusd.HTTPResponse{}, tusd.FileInfoChanges{MetaData: meta}, nil
}

// cleanMetadata checks the client's metadata: bounded keys and values,
// printable, no reserved keys; filename loses any path and control
// characters, filetype must look like a media type.
func cleanMetadata(in tusd.MetaData) (tusd.MetaData, error) {
	bad := func(msg string) (tusd.MetaData, error) {
		return nil, tusd.NewError("ERR_INVALID_METADATA", msg, http.StatusBadRequest)
	}
	if len(in) > maxMetaKeys {
		return bad("Upload-Metadata has more than " + strconv.Itoa(maxMetaKeys) + " keys")
	}
	out := make(tusd.MetaData, len(in)+2)
	for k, v := range in {
		if k == "" || len(k) > maxMetaKeyLen || strings.IndexFunc(k, func(r rune) bool {
			return !(r == '_' || r == '-' || r == '.' || r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)))
		}) >= 0 {
			return bad("Upload-Metadata keys must be 1 to 64 characters of A-Za-z0-9._-")
		}
		if strings.HasPrefix(k, uploads.Reserved) {
			return bad("Upload-Metadata keys starting with " + uploads.Reserved + " are reserved")
		}
		if len(v) > maxMetaValueLen || !utf8.ValidString(v) {
			return bad("Upload-Metadata value of " + k + " must be UTF-8 of at most 1024 bytes")
		}
		switch k {
		case "filename":
			v = cleanFilename(v)
		case "filetype", "content-type":
			if !validMediaType(v) {
				return bad("Upload-Metadata " + k + " is not a media type")
			}
		}
		out[k] = v
	}
	return out, nil
}

// cleanFilename keeps the last path element, without control characters.
func cleanFilename(s string) string {
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		s = s[i+1:]
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

func validMediaType(s string) bool {
	typ, sub, ok := strings.Cut(s, "/")
	if !ok || typ == "" || sub == "" || len(s) > 255 {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '+' || r == '-' || r == '_' || r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)))
	}) < 0
}

// owned passes HEAD, PATCH and DELETE on to tusd only for the upload's
// owner; anyone else, like an unknown id, gets 404, so ids reveal nothing.
// An upload past its expiry is gone too, even before the loop deletes it.
func (h *Handler) owned(w http.ResponseWriter, r *http.Request) {
	id := docstrange.IdentityOf(r)
	uploadID := r.PathValue("id")
	info, err := h.store.Info(r.Context(), uploadID)
	switch {
	case uploads.IsNotFound(err), err == nil && (id == nil || uploads.Owner(info) != id.Tenant):
		api.WriteError(w, api.Errorf(http.StatusNotFound, api.CodeUploadNotFound, "no upload %q", uploadID).With("upload_id", uploadID))
		return
	case err != nil:
		h.log.ErrorContext(r.Context(), "reading upload", "upload_id", uploadID, "error", err)
		api.WriteError(w, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "upload storage is unavailable"))
		return
	}
	expires := h.expiry(info)
	if r.Method != http.MethodDelete && time.Now().After(expires) {
		api.WriteError(w, api.Errorf(http.StatusGone, api.CodeUploadExpired, "upload %q expired at %s", uploadID, expires.Format(time.RFC3339)).With("upload_id", uploadID))
		return
	}
	if !uploads.Finished(info) {
		w.Header().Set("Upload-Expires", expires.Format(http.TimeFormat))
	}
	if r.Method == http.MethodPatch {
		if apiErr := h.checkPatchSize(r, info); apiErr != nil {
			api.WriteError(w, apiErr)
			return
		}
		verified, cleanup, apiErr := h.verifyChecksum(r)
		if apiErr != nil {
			api.WriteError(w, apiErr)
			return
		}
		defer cleanup()
		r = verified
	}
	h.chain[r.Method].ServeHTTP(w, stripBase(r, uploadID))
}

// stripBase gives tusd the request as its own router would: the path is
// the upload id alone.
func stripBase(r *http.Request, id string) *http.Request {
	r2 := r.Clone(r.Context())
	r2.URL.Path, r2.URL.RawPath = "/"+id, ""
	return r2
}

// ownsPartials checks a final upload's Upload-Concat: each partial it
// names must exist and be the caller's. tusd itself would concatenate
// anyone's.
func (h *Handler) ownsPartials(r *http.Request) *api.Error {
	v := r.Header.Get("Upload-Concat")
	list, ok := strings.CutPrefix(v, "final;")
	if !ok {
		return nil
	}
	id := docstrange.IdentityOf(r)
	for _, u := range strings.Fields(list) {
		_, pid, found := strings.Cut(u, BasePath)
		if !found || pid == "" || strings.Contains(pid, "/") {
			return api.Errorf(http.StatusBadRequest, api.CodeInvalidRequest, "Upload-Concat names %q, which is not an upload URL", u).With("field", "Upload-Concat")
		}
		info, err := h.store.Info(r.Context(), pid)
		if uploads.IsNotFound(err) || err == nil && (id == nil || uploads.Owner(info) != id.Tenant) {
			return api.Errorf(http.StatusNotFound, api.CodeUploadNotFound, "no upload %q", pid).With("upload_id", pid)
		}
		if err != nil {
			return api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "upload storage is unavailable")
		}
	}
	return nil
}

// checkPatchSize applies the tier's limit to uploads whose length was
// deferred: to a length declared now, and to the bytes of this PATCH.
func (h *Handler) checkPatchSize(r *http.Request, info tusd.FileInfo) *api.Error {
	d := docstrange.DecisionOf(r)
	if d == nil || d.Limits == nil {
		return api.Errorf(http.StatusInternalServerError, api.CodeInternal, "the edge is misconfigured")
	}
	limit := min(h.MaxSize, d.Limits.MaxFileSize)
	tooLarge := func(size int64) *api.Error {
		return api.Errorf(http.StatusRequestEntityTooLarge, api.CodeFileTooLarge, "the upload exceeds the tier's limit of %d bytes", limit).
			With("max_size", limit).With("file_size", size)
	}
	if v := r.Header.Get("Upload-Length"); v != "" && info.SizeIsDeferred {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > limit {
			return tooLarge(n)
		}
	}
	if info.SizeIsDeferred {
		if r.ContentLength > 0 && info.Offset+r.ContentLength > limit {
			return tooLarge(info.Offset + r.ContentLength)
		}
		r.Body = http.MaxBytesReader(nil, r.Body, max(limit-info.Offset, 0))
	}
	return nil
}

// expiry is when an upload stops being served and gets deleted.
func (h *Handler) expiry(info tusd.FileInfo) time.Time {
	created, ok := uploads.Created(info)
	if !ok {
		// Not one of ours: expire it.
		return time.Time{}
	}
	return created.Add(h.store.TTL()).UTC()
}
