package client

// Resumable uploads speak tus 1.0.0 (core, creation, termination,
// expiration, checksum) with a small client of our own rather than a
// library. The two Go clients worth considering were weighed in 2026:
//
//   - github.com/eventials/go-tus: no context.Context anywhere (requests
//     cannot be cancelled), no checksum extension, errors that drop the
//     server's answer ("unexpected status code: 400"), last released as a
//     v0 pseudo-version, CI on Travis.
//   - github.com/bdragon300/tusgo (MIT): full-featured, but the context
//     is stored in the client (WithContext) instead of passed per call,
//     the library panics on nil arguments, its request helper reads the
//     response of a failed request (a nil dereference on network errors),
//     and answers it did not expect collapse into ErrUnexpectedResponse,
//     losing our error envelope and Retry-After. Its tests pull ginkgo
//     and gomega into the module graph.
//
// Neither was available from this project's module proxy either. What the
// SDK needs is about 250 lines: create, PATCH in chunks, HEAD to resume,
// DELETE, a checksum header, and the edge's X-Job-ID on completion, with
// the same *Error, retry and context handling as every other call. The
// edge's own tus tests (e2e/tus_test.go) and the stock tus-js-client
// (e2e/tusjs_test.go) pin the server side.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docstrange/mesh/api"
)

// tus protocol constants.
const (
	tusVersion        = "1.0.0"
	tusContentType    = "application/offset+octet-stream"
	statusChecksumBad = 460
)

// Upload defaults.
const (
	// DefaultChunkSize is the bytes per PATCH. An interrupted PATCH keeps
	// what reached the edge, so a large chunk loses little; a small one
	// spends requests, which every tier limits.
	DefaultChunkSize = 16 << 20
	// DefaultUploadRetries is how many failures in a row an upload
	// survives before it gives up.
	DefaultUploadRetries = 5
)

// UploadOptions shape one resumable upload.
type UploadOptions struct {
	// Filename is sent as the filename metadata. Default: none.
	Filename string
	// ChunkSize is the bytes per PATCH. Default: DefaultChunkSize.
	ChunkSize int64
	// Checksum sends each chunk's SHA-256 (tus checksum extension); the
	// edge refuses a chunk that arrived damaged, and it is sent again.
	// Default: off (TCP and TLS already check what they carry).
	Checksum bool
	// Metadata are extra Upload-Metadata pairs. Keys must not hold spaces
	// or commas. Default: none.
	Metadata map[string]string
	// Process has the edge start a job with Options when the last byte
	// arrives; Upload.JobID names it. SubmitUpload after the upload does
	// the same with an Idempotency-Key, which survives losing the answer
	// to the last PATCH; prefer it where that matters. Default: off.
	Process bool
	// Options are the job's options when Process is set.
	Options Options
	// Progress, if set, is called with the bytes the edge holds after
	// each chunk (and once when the upload starts or resumes).
	Progress func(done, total int64)
	// MaxRetries is how many failures in a row the upload survives,
	// resuming from the edge's offset each time. Default:
	// DefaultUploadRetries.
	MaxRetries int
}

// Upload is a resumable upload on the edge.
type Upload struct {
	// URL is the upload's address; ResumeUpload takes it.
	URL string
	// ID is the upload's id, the last element of URL; SubmitUpload takes
	// it.
	ID string
	// Size is the upload's length and Offset how much of it the edge
	// holds.
	Size, Offset int64
	// ExpiresAt is when an unused upload is deleted; zero if unknown.
	ExpiresAt time.Time
	// JobID is the job started on completion (UploadOptions.Process).
	JobID string
	// JobCached says that job is an earlier one with the same content and
	// options.
	JobCached bool
}

// UploadError is an upload that stopped before it finished. URL is set
// once the upload exists on the edge: ResumeUpload continues it there.
type UploadError struct {
	// URL is the upload's address, "" if it was never created.
	URL string
	// Offset is how many bytes the edge held when it stopped; Size is the
	// upload's length.
	Offset, Size int64
	// Err is why it stopped.
	Err error
}

// Error says where the upload stopped and why.
func (e *UploadError) Error() string {
	if e.URL == "" {
		return fmt.Sprintf("creating the upload: %v", e.Err)
	}
	return fmt.Sprintf("uploading to %s (%d of %d bytes stored): %v", e.URL, e.Offset, e.Size, e.Err)
}

// Unwrap returns why the upload stopped.
func (e *UploadError) Unwrap() error { return e.Err }

// ErrNoJob is an upload marked for processing that finished without the
// edge naming its job, because the answer to the last PATCH was lost or
// refused: the upload is complete, and SubmitUpload makes a job of it.
var ErrNoJob = errors.New("the upload finished but the answer naming its job was lost")

// Upload sends size bytes of r as a new resumable upload, in chunks, and
// resumes from the edge's offset after each failure. If it gives up, the
// error is an *UploadError whose URL ResumeUpload takes.
func (c *Client) Upload(ctx context.Context, r io.ReaderAt, size int64, opts UploadOptions) (*Upload, error) {
	if size < 0 {
		return nil, &UploadError{Size: size, Err: fmt.Errorf("negative size %d", size)}
	}
	meta, err := opts.metadata()
	if err != nil {
		return nil, &UploadError{Size: size, Err: err}
	}
	h := tusHeader()
	h.Set("Upload-Length", strconv.FormatInt(size, 10))
	if meta != "" {
		h.Set("Upload-Metadata", meta)
	}
	// Creating is not idempotent: after a network error a retry would
	// leave an orphan upload (deleted when it expires), so only the
	// answers that consumed nothing, 429 and 503, are retried.
	req := &request{method: http.MethodPost, url: c.endpoint("uploads/", nil), header: h}
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, &UploadError{Size: size, Err: err}
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Location") == "" {
		return nil, &UploadError{Size: size, Err: fmt.Errorf("creating the upload: %d without Location: %w", resp.StatusCode, ErrProtocol)}
	}
	loc, err := c.resolve(resp.Header.Get("Location"))
	if err != nil {
		return nil, &UploadError{Size: size, Err: err}
	}
	u := &Upload{URL: loc, ID: path.Base(loc), Size: size}
	u.ExpiresAt, _ = http.ParseTime(resp.Header.Get("Upload-Expires"))
	return c.send(ctx, u, r, opts)
}

// ResumeUpload continues the upload at uploadURL with the same data: it
// asks the edge for its offset and sends the rest. size must be the
// upload's length.
func (c *Client) ResumeUpload(ctx context.Context, uploadURL string, r io.ReaderAt, size int64, opts UploadOptions) (*Upload, error) {
	loc, err := c.resolve(uploadURL)
	if err != nil {
		return nil, &UploadError{URL: uploadURL, Size: size, Err: err}
	}
	u := &Upload{URL: loc, ID: path.Base(loc), Size: size}
	st, err := c.UploadStatus(ctx, loc)
	if err != nil {
		return nil, &UploadError{URL: loc, Size: size, Err: err}
	}
	if st.Size != size {
		return nil, &UploadError{URL: loc, Offset: st.Offset, Size: size,
			Err: fmt.Errorf("the upload holds %d bytes, the data %d: %w", st.Size, size, ErrUploadMismatch)}
	}
	u.Offset, u.ExpiresAt = st.Offset, st.ExpiresAt
	return c.send(ctx, u, r, opts)
}

// UploadStatus asks the edge (HEAD) how much of the upload it holds. An
// unknown or expired upload is UPLOAD_NOT_FOUND or UPLOAD_EXPIRED.
func (c *Client) UploadStatus(ctx context.Context, uploadURL string) (*Upload, error) {
	loc, err := c.resolve(uploadURL)
	if err != nil {
		return nil, err
	}
	req := &request{method: http.MethodHead, url: loc, header: tusHeader(), idempotent: true}
	resp, err := c.do(ctx, req)
	if err != nil {
		// A HEAD answer has no body: name the tus codes from the status.
		var e *Error
		if errors.As(err, &e) && e.API.Code == api.CodeNotFound {
			e.API.Code = api.CodeUploadNotFound
		} else if errors.As(err, &e) && e.API.Status == http.StatusGone {
			e.API.Code = api.CodeUploadExpired
		}
		return nil, fmt.Errorf("reading the upload's offset: %w", err)
	}
	resp.Body.Close()
	u := &Upload{URL: loc, ID: path.Base(loc)}
	if u.Offset, err = headerInt(resp, "Upload-Offset"); err != nil {
		return nil, err
	}
	if u.Size, err = headerInt(resp, "Upload-Length"); err != nil {
		return nil, err
	}
	u.ExpiresAt, _ = http.ParseTime(resp.Header.Get("Upload-Expires"))
	return u, nil
}

// DeleteUpload removes the upload (tus termination).
func (c *Client) DeleteUpload(ctx context.Context, uploadURL string) error {
	loc, err := c.resolve(uploadURL)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, &request{method: http.MethodDelete, url: loc, header: tusHeader(), idempotent: true})
	if err != nil {
		return fmt.Errorf("deleting the upload: %w", err)
	}
	resp.Body.Close()
	return nil
}

// metadata encodes Upload-Metadata: sorted keys, base64 values.
func (o UploadOptions) metadata() (string, error) {
	m := map[string]string{}
	for k, v := range o.Metadata {
		m[k] = v
	}
	if o.Filename != "" {
		m["filename"] = o.Filename
	}
	if o.Process {
		m["process"] = "true"
		if !o.Options.empty() {
			b, err := json.Marshal(o.Options)
			if err != nil {
				return "", fmt.Errorf("encoding options: %w", err)
			}
			m["options"] = string(b)
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if k == "" || strings.ContainsAny(k, " ,") {
			return "", fmt.Errorf("metadata key %q: must be non-empty without spaces or commas", k)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+" "+base64.StdEncoding.EncodeToString([]byte(m[k])))
	}
	return strings.Join(parts, ","), nil
}

// localError is a failure on this side (reading the data), which no retry
// mends.
type localError struct{ err error }

// Error is the underlying failure's.
func (e *localError) Error() string { return e.err.Error() }

// Unwrap returns the underlying failure.
func (e *localError) Unwrap() error { return e.err }

func tusHeader() http.Header { return http.Header{"Tus-Resumable": {tusVersion}} }

func headerInt(resp *http.Response, name string) (int64, error) {
	v := resp.Header.Get(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("header %s %q is not a length: %w", name, v, ErrProtocol)
	}
	return n, nil
}
