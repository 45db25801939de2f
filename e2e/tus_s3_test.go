package e2e

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"path"
	"strconv"
	"testing"

	"github.com/docstrange/mesh/internal/redistest"
	"github.com/docstrange/mesh/internal/s3test"
)

// TestTusTwoEdgesS3: two edges behind one imaginary load balancer share an
// S3 upload store and a Redis: an upload started on one resumes on the
// other without sticky sessions, ownership holds on both, and a job is
// created from it on the second.
func TestTusTwoEdgesS3(t *testing.T) {
	srv := redistest.Start(t)
	s3srv := s3test.Start(t)
	env := []string{
		"DOCSTRANGE_STORE=redis", "DOCSTRANGE_REDIS_ADDR=" + srv.Addr(), "DOCSTRANGE_REDIS_PREFIX=tus2:", testPepper,
		"DOCSTRANGE_WORKERS=-1",
		"DOCSTRANGE_UPLOAD_STORE=s3", "DOCSTRANGE_S3_ENDPOINT=" + s3srv.Endpoint(), "DOCSTRANGE_S3_REGION=" + s3srv.Region(),
		"DOCSTRANGE_S3_BUCKET=" + s3srv.Bucket(), "DOCSTRANGE_S3_PATH_STYLE=true",
		"DOCSTRANGE_S3_ACCESS_KEY=" + s3srv.AccessKey(), "DOCSTRANGE_S3_SECRET_KEY=" + s3srv.SecretKey(),
	}
	a := startStack(t, env...)
	b := startStack(t, env...)
	k := a.issueKey("acme", "api_key")
	other := b.issueKey("other", "api_key")

	pdf := readFile(t, helloPDF)
	// Pad the PDF past one S3 part so the upload spans parts; PDF readers
	// ignore bytes after %%EOF.
	data := append(bytes.Clone(pdf), make([]byte, 6<<20)...)
	rand.Read(data[len(pdf):])
	loc := a.tusCreate(k.Key, len(data), meta("filename", "padded.pdf"))
	id := path.Base(loc)
	if r := b.tusReq(other.Key, http.MethodHead, b.base+"/api/v1/uploads/"+id, nil, nil); r.status != http.StatusNotFound {
		t.Fatalf("HEAD by another tenant on edge b: %d", r.status)
	}
	// Chunks alternate between the edges, as a load balancer without
	// sticky sessions would send them; each resumes from a HEAD on the
	// edge it lands on.
	const chunk = 1 << 20
	edges := []*stack{a, b}
	for i, off := 0, 0; off < len(data); i++ {
		e := edges[i%2]
		url := e.base + "/api/v1/uploads/" + id
		r := e.tusReq(k.Key, http.MethodHead, url, nil, nil)
		if r.status != http.StatusOK || r.header.Get("Upload-Offset") != strconv.Itoa(off) {
			t.Fatalf("HEAD on edge %d before chunk %d: %d %v", i%2, i, r.status, r.header)
		}
		end := min(off+chunk, len(data))
		if r := e.tusReq(k.Key, http.MethodPatch, url, data[off:end], map[string]string{"Upload-Offset": strconv.Itoa(off)}); r.status != http.StatusNoContent {
			t.Fatalf("chunk %d on edge %d: %d %s", i, i%2, r.status, r.body)
		}
		off = end
	}
	if r := a.tusReq(k.Key, http.MethodHead, loc, nil, nil); r.header.Get("Upload-Offset") != strconv.Itoa(len(data)) {
		t.Fatalf("edge a does not see the finished upload: %v", r.header)
	}
	var r *response
	r = b.submitSource(k.Key, `{"source":{"upload_id":"`+id+`"}}`)
	if r.status != http.StatusAccepted {
		t.Fatalf("job from the S3 upload on edge b: %d %s", r.status, r.body)
	}
}
