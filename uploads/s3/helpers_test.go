package s3_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/redis/go-redis/v9"
	"github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/s3store"
	xslog "golang.org/x/exp/slog"

	"github.com/docstrange/mesh/internal/redistest"
	"github.com/docstrange/mesh/internal/s3test"
	"github.com/docstrange/mesh/uploads/redislock"
	"github.com/docstrange/mesh/uploads/s3"
)

const (
	// accessEnv and secretEnv hold the test server's keys; New reads them.
	accessEnv = "DOCSTRANGE_TEST_S3_ACCESS_KEY"
	secretEnv = "DOCSTRANGE_TEST_S3_SECRET_KEY"
	// basePath is where each edge mounts tusd.
	basePath = "/files/"
)

// cluster is what edges share: one S3 server, one Redis and one Config.
type cluster struct {
	s3    *s3test.Server
	redis *redistest.Server
	cfg   s3.Config
}

// newCluster starts the servers. Its parts are the smallest S3 accepts, so
// that a few MiB make several of them.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	srv := s3test.Start(t)
	t.Setenv(accessEnv, srv.AccessKey())
	t.Setenv(secretEnv, srv.SecretKey())
	c := &cluster{
		s3:    srv,
		redis: redistest.Start(t),
		cfg: s3.Config{
			Endpoint:     srv.Endpoint(),
			Region:       srv.Region(),
			Bucket:       srv.Bucket(),
			AccessKeyEnv: accessEnv,
			SecretKeyEnv: secretEnv,
			PathStyle:    true,
			PartSize:     s3.MinPartSize,
			TempDir:      t.TempDir(),
		},
	}
	// Fill in the defaults, such as Prefix, that the tests read.
	if err := c.cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return c
}

// edge is one edge process: its own store, Redis client, lock and server.
type edge struct {
	name  string
	store s3store.S3Store
	srv   *httptest.Server
}

// edge starts an edge that serves tusd's routed handler at basePath.
func (c *cluster) edge(t *testing.T, name string) *edge {
	t.Helper()
	store, err := s3.New(t.Context(), c.cfg)
	if err != nil {
		t.Fatalf("edge %s: s3.New: %v", name, err)
	}
	rc := redis.NewClient(&redis.Options{Addr: c.redis.Addr()})
	t.Cleanup(func() { _ = rc.Close() })
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})).With("edge", name)
	locker := redislock.New(rc, redislock.Config{Logger: logger})
	t.Cleanup(func() { _ = locker.Close() }) // runs before the client's Close

	composer := handler.NewStoreComposer()
	store.UseIn(composer)
	locker.UseIn(composer)
	h, err := handler.NewHandler(handler.Config{
		BasePath:      basePath,
		StoreComposer: composer,
		Logger:        xslog.New(xslog.NewTextHandler(t.Output(), &xslog.HandlerOptions{Level: xslog.LevelWarn})).With("edge", name),
	})
	if err != nil {
		t.Fatalf("edge %s: tusd handler: %v", name, err)
	}
	mux := http.NewServeMux()
	mux.Handle(basePath, http.StripPrefix(basePath, h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &edge{name: name, store: store, srv: srv}
}

// do sends a tus request to path on e and returns the response, body drained.
func (e *edge) do(t *testing.T, method, path string, hdr map[string]string, body io.Reader, n int64) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.srv.URL+path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	req.ContentLength = n
	req.Header.Set("Tus-Resumable", "1.0.0")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("edge %s: %s %s: %v", e.name, method, path, err)
	}
	msg, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Logf("edge %s: %s %s: %s %s", e.name, method, path, resp.Status, msg)
	}
	return resp
}

// create POSTs a new upload with hdr and returns its path, basePath+id.
func (e *edge) create(t *testing.T, hdr map[string]string) string {
	t.Helper()
	resp := e.do(t, http.MethodPost, basePath, hdr, nil, 0)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("edge %s: POST: %s, want 201", e.name, resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.Path, basePath) {
		t.Fatalf("edge %s: POST: Location %q: %v", e.name, resp.Header.Get("Location"), err)
	}
	return loc.Path
}

// patch sends n bytes of body at offset with the extra headers and returns
// the new offset.
func (e *edge) patch(t *testing.T, path string, offset int64, body io.Reader, n int64, hdr map[string]string) int64 {
	t.Helper()
	h := map[string]string{"Content-Type": "application/offset+octet-stream", "Upload-Offset": strconv.FormatInt(offset, 10)}
	for k, v := range hdr {
		h[k] = v
	}
	resp := e.do(t, http.MethodPatch, path, h, body, n)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("edge %s: PATCH at %d: %s, want 204", e.name, offset, resp.Status)
	}
	return headerInt(t, resp, "Upload-Offset")
}

// head returns the upload's offset and its length, -1 while deferred.
func (e *edge) head(t *testing.T, path string) (offset, length int64) {
	t.Helper()
	resp := e.do(t, http.MethodHead, path, nil, nil, 0)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("edge %s: HEAD: %s, want 200", e.name, resp.Status)
	}
	if resp.Header.Get("Upload-Defer-Length") == "1" {
		return headerInt(t, resp, "Upload-Offset"), -1
	}
	return headerInt(t, resp, "Upload-Offset"), headerInt(t, resp, "Upload-Length")
}

func headerInt(t *testing.T, resp *http.Response, name string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(resp.Header.Get(name), 10, 64)
	if err != nil {
		t.Fatalf("%s header %q: %v", name, resp.Header.Get(name), err)
	}
	return n
}

// uploadID is the tus id in a path that create returned.
func uploadID(path string) string { return strings.TrimPrefix(path, basePath) }

// splitID splits a tus id of s3store into object id and multipart id.
func splitID(t *testing.T, id string) (objectID, multipartID string) {
	t.Helper()
	i := strings.LastIndex(id, "+")
	if i < 0 {
		t.Fatalf("upload id %q has no +", id)
	}
	return id[:i], id[i+1:]
}

// data is a reproducible stream of n pseudo-random bytes; it never sits in
// memory whole.
func data(seed uint64, n int64) io.Reader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return io.LimitReader(rand.NewChaCha8(s), n)
}

// hashOf is the hex sha256 of r, read as a stream.
func hashOf(t *testing.T, r io.Reader) (sum string, n int64) {
	t.Helper()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		t.Fatalf("hashing: %v", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n
}

// verify streams the upload through the store's GetReader and compares it
// with want, by hash.
func verify(t *testing.T, store s3store.S3Store, id string, want io.Reader) {
	t.Helper()
	up, err := store.GetUpload(t.Context(), id)
	if err != nil {
		t.Fatalf("GetUpload: %v", err)
	}
	r, err := up.GetReader(t.Context())
	if err != nil {
		t.Fatalf("GetReader: %v", err)
	}
	defer r.Close()
	got, gotN := hashOf(t, r)
	wantSum, wantN := hashOf(t, want)
	if gotN != wantN || got != wantSum {
		t.Fatalf("stored upload: %d bytes, sha256 %s; want %d bytes, sha256 %s", gotN, got, wantN, wantSum)
	}
}

// objectSize is the size of key in the store's bucket, or -1 when absent.
func objectSize(t *testing.T, store s3store.S3Store, key string) int64 {
	t.Helper()
	out, err := store.Service.HeadObject(t.Context(), &awss3.HeadObjectInput{Bucket: aws.String(store.Bucket), Key: aws.String(key)})
	if err != nil {
		var status interface{ HTTPStatusCode() int }
		if errors.As(err, &status) && status.HTTPStatusCode() == http.StatusNotFound {
			return -1
		}
		t.Fatalf("HeadObject(%s): %v", key, err)
	}
	return aws.ToInt64(out.ContentLength)
}

// client is the SDK client under the store, for calls tusd's S3API lacks.
func client(t *testing.T, store s3store.S3Store) *awss3.Client {
	t.Helper()
	c, ok := store.Service.(*awss3.Client)
	if !ok {
		t.Fatalf("store.Service is %T, want *s3.Client", store.Service)
	}
	return c
}
