package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/docstrange/mesh/api"
)

// TestDedupe: a tenant's second submission of the same content with the
// same options is answered from the first job's result (200, cached: true,
// no new job, no quota); other options, other content or another tenant
// run anew.
func TestDedupe(t *testing.T) {
	s := startStack(t, "DOCSTRANGE_DEDUPE=tenant")
	pdf := readFile(t, helloPDF)
	first := s.submitOK("hello.pdf", pdf, nil)
	if j := s.waitFor(first.JobID, 60*time.Second); j.Status != "succeeded" {
		t.Fatalf("first job: %+v", j)
	}
	r := s.submit("renamed.pdf", pdf, map[string]string{"output_formats": "markdown"})
	if r.status != http.StatusOK {
		t.Fatalf("repeat: %d %s", r.status, r.body)
	}
	var again api.Job
	r.json(t, &again)
	if !again.Cached || again.JobID != first.JobID || again.Status != "succeeded" {
		t.Fatalf("repeat answered with %+v", again)
	}
	if res := s.get("/api/v1/jobs/" + again.JobID + "/result?format=markdown"); res.status != http.StatusOK {
		t.Fatalf("cached result: %d", res.status)
	}
	// Other options run anew.
	if r := s.submit("hello.pdf", pdf, map[string]string{"output_formats": "json"}); r.status != http.StatusAccepted {
		t.Fatalf("other options: %d %s", r.status, r.body)
	}
	// Another tenant never sees the first tenant's job.
	other := s.issueKey("other", "api_key")
	body, ct := multipartBody(t, "hello.pdf", pdf, nil)
	r = s.as(other.Key, http.MethodPost, "/api/v1/documents", body.Bytes(), ct)
	var theirs api.Job
	r.json(t, &theirs)
	if r.status != http.StatusAccepted || theirs.Cached || theirs.JobID == first.JobID {
		t.Fatalf("another tenant: %d %s", r.status, r.body)
	}
}
