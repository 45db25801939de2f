package tus

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/caddy-modules/docstrange"
)

// The checksum extension (tus 1.0.0 §Checksum), which tusd lacks: its
// maintainers left it out because the server must hold the whole chunk
// before it may append any of it (tus/tusd#81). A PATCH carrying
// Upload-Checksum therefore has its body streamed to a spool file, hashed
// on the way, and only a chunk whose digest matches reaches tusd, which
// reads it back from that file under its upload lock. A mismatch never
// touches the upload, so its offset stays where it was, as the spec
// requires. The price is one extra disk write (and read, mostly from the
// page cache) per checksummed chunk; the chunk is never held in memory.
// PATCHes without the header stream straight into tusd as before.

// Checksum headers and status.
const (
	headerUploadChecksum = "Upload-Checksum"
	// headerChecksumAlgorithm is advertised on OPTIONS.
	headerChecksumAlgorithm = "Tus-Checksum-Algorithm"
	// checksumAlgorithms is Tus-Checksum-Algorithm's value: every name
	// checksumHash knows, sha1 first as the spec requires it.
	checksumAlgorithms = "sha1,md5,sha256"
	// StatusChecksumMismatch is tus' non-standard status for a chunk whose
	// digest differs from its Upload-Checksum.
	StatusChecksumMismatch = 460
)

// spoolDirName is the spool folder under the app's DataDir. It is not the
// upload store's own folder: that one is absent for non-file stores, and
// the expiry loop reads it as a list of uploads.
const spoolDirName = "uploads-tmp"

// checksum is a parsed Upload-Checksum.
type checksum struct {
	algorithm string
	newHash   func() hash.Hash
	digest    []byte
}

// checksumHash is the hash an algorithm name stands for, nil if unknown.
func checksumHash(algorithm string) func() hash.Hash {
	switch algorithm {
	case "sha1":
		return sha1.New
	case "md5":
		return md5.New
	case "sha256":
		return sha256.New
	}
	return nil
}

// parseChecksum reads Upload-Checksum: "<algorithm> <base64 digest>".
func parseChecksum(v string) (checksum, *api.Error) {
	bad := func(format string, args ...any) (checksum, *api.Error) {
		return checksum{}, api.Errorf(http.StatusBadRequest, api.CodeInvalidRequest, format, args...).With("field", headerUploadChecksum)
	}
	alg, b64, ok := strings.Cut(strings.TrimSpace(v), " ")
	b64 = strings.TrimSpace(b64)
	if !ok || alg == "" || b64 == "" {
		return bad("Upload-Checksum must be an algorithm and a base64 digest separated by a space")
	}
	alg = strings.ToLower(alg)
	newHash := checksumHash(alg)
	if newHash == nil {
		return bad("Upload-Checksum algorithm %q is not supported; supported: %s", alg, strings.ReplaceAll(checksumAlgorithms, ",", ", "))
	}
	digest, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return bad("the Upload-Checksum digest is not base64")
	}
	if size := newHash().Size(); len(digest) != size {
		return bad("the Upload-Checksum digest is %d bytes; %s digests are %d", len(digest), alg, size)
	}
	return checksum{algorithm: alg, newHash: newHash, digest: digest}, nil
}

// verifyChecksum implements tus' checksum extension for a PATCH. It returns
// the request to hand to tusd (its body replaced when a checksum was
// verified), a cleanup to run after tusd is done, or the error to answer.
// It runs before tusd takes the upload lock, so a slow checksummed body
// does not hold the lock while it is spooled; tusd still checks the offset
// under the lock before appending.
func (h *Handler) verifyChecksum(r *http.Request) (*http.Request, func(), *api.Error) {
	noop := func() {}
	values := r.Header.Values(headerUploadChecksum)
	if len(values) == 0 {
		return r, noop, nil
	}
	if len(values) > 1 {
		return nil, noop, api.Errorf(http.StatusBadRequest, api.CodeInvalidRequest, "Upload-Checksum is given more than once").With("field", headerUploadChecksum)
	}
	sum, apiErr := parseChecksum(values[0])
	if apiErr != nil {
		return nil, noop, apiErr
	}
	// No chunk may be larger than the largest upload; a deferred-length
	// upload's body is already bounded tighter by checkPatchSize.
	limit := h.MaxSize
	if d := docstrange.DecisionOf(r); d != nil && d.Limits != nil {
		limit = min(limit, d.Limits.MaxFileSize)
	}
	if r.ContentLength > limit {
		return nil, noop, chunkTooLarge(limit, r.ContentLength)
	}
	if r.ContentLength >= 0 {
		limit = r.ContentLength
	}
	dir := filepath.Join(h.app.DataDir, spoolDirName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		h.log.ErrorContext(r.Context(), "creating the checksum spool folder", "error", err)
		return nil, noop, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "upload storage is unavailable")
	}
	spool, err := spoolChunk(r.Context(), dir, r.Body, limit, sum)
	if err != nil {
		var apiErr *api.Error
		if errors.As(err, &apiErr) {
			return nil, noop, apiErr
		}
		h.log.ErrorContext(r.Context(), "spooling a checksummed chunk", "upload_id", r.PathValue("id"), "error", err)
		return nil, noop, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "upload storage is unavailable")
	}
	r2 := r.Clone(r.Context())
	// tusd may close the body to stop an upload; the file stays ours to
	// close in cleanup.
	r2.Body = io.NopCloser(spool.File)
	r2.ContentLength = spool.size
	r2.TransferEncoding = nil
	r2.Header.Set("Content-Length", strconv.FormatInt(spool.size, 10))
	return r2, spool.release, nil
}

// spoolFile is a verified chunk on disk.
type spoolFile struct {
	*os.File
	size int64
	// unlinked is true once the file has no name left: where the system
	// lets an open file be removed, it is removed at once, so neither a
	// failure nor a crash leaves it behind, and closing it frees the space.
	unlinked bool
}

// release closes the file and removes it if it still has a name.
func (s *spoolFile) release() {
	s.Close()
	if !s.unlinked {
		os.Remove(s.Name())
	}
}

// spoolChunk copies body, at most limit bytes of it, into a new file in
// dir while hashing it, and returns that file, rewound, if the digest
// matches sum. Errors the client caused are *api.Error; any other is the
// spool's own I/O failing. On error nothing is left in dir.
func spoolChunk(ctx context.Context, dir string, body io.Reader, limit int64, sum checksum) (*spoolFile, error) {
	f, err := os.CreateTemp(dir, "chunk-*")
	if err != nil {
		return nil, fmt.Errorf("creating spool file: %w", err)
	}
	spool := &spoolFile{File: f, unlinked: os.Remove(f.Name()) == nil}
	ok := false
	defer func() {
		if !ok {
			spool.release()
		}
	}()
	if body == nil {
		body = http.NoBody
	}
	src := &chunkReader{ctx: ctx, r: body}
	read := limit
	if read < math.MaxInt64 {
		read++ // one byte more tells a body over the limit
	}
	hsh := sum.newHash()
	n, err := io.Copy(io.MultiWriter(f, hsh), io.LimitReader(src, read))
	switch {
	case src.err != nil:
		if maxErr := (*http.MaxBytesError)(nil); errors.As(src.err, &maxErr) {
			return nil, api.Errorf(http.StatusRequestEntityTooLarge, api.CodeFileTooLarge,
				"the chunk is larger than the %d bytes the upload may still take", maxErr.Limit).With("max_size", maxErr.Limit)
		}
		return nil, api.Errorf(http.StatusBadRequest, api.CodeInvalidRequest, "the request body ended after %d bytes, before it was complete", n)
	case err != nil:
		return nil, fmt.Errorf("writing spool file: %w", err)
	case n > limit:
		return nil, chunkTooLarge(limit, -1)
	}
	if got := hsh.Sum(nil); !bytes.Equal(got, sum.digest) {
		return nil, api.Errorf(StatusChecksumMismatch, api.CodeChecksumMismatch,
			"the chunk's %s digest is %s, not %s as Upload-Checksum says", sum.algorithm,
			base64.StdEncoding.EncodeToString(got), base64.StdEncoding.EncodeToString(sum.digest)).With("algorithm", sum.algorithm)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewinding spool file: %w", err)
	}
	ok = true
	spool.size = n
	return spool, nil
}

// chunkTooLarge is the answer to a chunk over limit; size is -1 when
// unknown.
func chunkTooLarge(limit, size int64) *api.Error {
	e := api.Errorf(http.StatusRequestEntityTooLarge, api.CodeFileTooLarge, "the chunk exceeds the limit of %d bytes", limit).With("max_size", limit)
	if size >= 0 {
		e = e.With("file_size", size)
	}
	return e
}

// chunkReader reads the request body, stops once ctx ends, and remembers
// a read error so it is not mistaken for the spool failing.
type chunkReader struct {
	ctx context.Context
	r   io.Reader
	err error
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		c.err = err
		return 0, err
	}
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}
