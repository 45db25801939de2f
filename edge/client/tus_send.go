package client

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/docstrange/mesh/api"
)

// send PATCHes the rest of u from its offset, resuming from the edge's
// offset after each recoverable failure.
func (c *Client) send(ctx context.Context, u *Upload, r io.ReaderAt, opts UploadOptions) (*Upload, error) {
	chunk := opts.ChunkSize
	if chunk <= 0 {
		chunk = DefaultChunkSize
	}
	maxRetries := opts.MaxRetries
	if maxRetries <= 0 {
		maxRetries = DefaultUploadRetries
	}
	progress := func() {
		if opts.Progress != nil {
			opts.Progress(u.Offset, u.Size)
		}
	}
	fail := func(err error) (*Upload, error) {
		return nil, &UploadError{URL: u.URL, Offset: u.Offset, Size: u.Size, Err: err}
	}
	progress()
	var lastErr error
	failures := 0
	for u.Offset < u.Size {
		n := min(chunk, u.Size-u.Offset)
		resp, err := c.patch(ctx, u.URL, r, u.Offset, n, opts.Checksum)
		if err == nil {
			off, herr := headerInt(resp, "Upload-Offset")
			if herr != nil || off < u.Offset || off > u.Offset+n {
				return fail(fmt.Errorf("PATCH at %d of %d bytes answered Upload-Offset %q: %w", u.Offset, n, resp.Header.Get("Upload-Offset"), ErrProtocol))
			}
			u.Offset, failures = off, 0
			if id := resp.Header.Get("X-Job-ID"); id != "" {
				u.JobID, u.JobCached = id, resp.Header.Get("X-Job-Cached") == "true"
			}
			progress()
			continue
		}
		if ctx.Err() != nil || !recoverable(err) {
			return fail(err)
		}
		lastErr = err
		if failures++; failures > maxRetries {
			return fail(fmt.Errorf("giving up after %d failures in a row: %w", failures, err))
		}
		wait := c.retry.backoffFor(failures)
		var e *Error
		if errors.As(err, &e) && e.RetryAfter() > 0 {
			wait = min(e.RetryAfter(), c.retry.maxWait)
		}
		if werr := sleep(ctx, wait); werr != nil {
			return fail(errors.Join(err, werr))
		}
		// The edge keeps what reached it: ask where to go on from.
		st, herr := c.UploadStatus(ctx, u.URL)
		if herr != nil {
			if ctx.Err() != nil || !recoverable(herr) {
				return fail(herr)
			}
			continue
		}
		u.Offset = st.Offset
		progress()
	}
	if opts.Process && u.JobID == "" {
		return fail(errors.Join(ErrNoJob, lastErr))
	}
	return u, nil
}

// patch sends n bytes of r at off.
func (c *Client) patch(ctx context.Context, loc string, r io.ReaderAt, off, n int64, checksum bool) (*http.Response, error) {
	h := tusHeader()
	h.Set("Content-Type", tusContentType)
	h.Set("Upload-Offset", strconv.FormatInt(off, 10))
	if checksum {
		sum := sha256.New()
		if _, err := io.Copy(sum, io.NewSectionReader(r, off, n)); err != nil {
			return nil, &localError{fmt.Errorf("reading bytes %d to %d: %w", off, off+n, err)}
		}
		h.Set("Upload-Checksum", "sha256 "+base64.StdEncoding.EncodeToString(sum.Sum(nil)))
	}
	// A PATCH is not retried blindly after a network error: part of it
	// may have been stored, and the caller resumes from HEAD's offset.
	req := &request{
		method: http.MethodPatch, url: loc, header: h,
		body: func() (io.Reader, int64, error) { return io.NewSectionReader(r, off, n), n, nil },
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("PATCH at offset %d: %w", off, err)
	}
	resp.Body.Close()
	return resp, nil
}

// recoverable reports whether an upload may go on after err: a network
// failure, a server error, a lost lock or offset race, a damaged chunk.
// Refusals of the request itself (a wrong key, too large, a job refused on
// completion) are final.
func recoverable(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		var le *localError
		return !errors.As(err, &le) && !errors.Is(err, ErrProtocol)
	}
	switch e.API.Code {
	case api.CodeUploadOffsetMismatch, api.CodeUploadLocked, api.CodeChecksumMismatch:
		return true
	case api.CodeUnsupportedMediaType, api.CodeUnprocessableDocument, api.CodeTooManyPages, api.CodeQuotaExceeded:
		return false
	}
	return e.API.Status == statusChecksumBad || retryable(e.API.Status) || e.API.Status >= 500 && e.API.Status != http.StatusNotImplemented
}
