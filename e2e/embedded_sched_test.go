package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docstrange/mesh/api"
)

// TestEmbeddedScheduling: the single node runs the scheduler's dispatch
// loop in process with one static local worker, so fair shares hold there
// too: a tenant's single job submitted behind another tenant's flood starts
// within the first few placements, not after the flood. A job that asks for
// a GPU is refused at submit, since no GPU worker can ever come.
func TestEmbeddedScheduling(t *testing.T) {
	s := startStack(t, "DOCSTRANGE_WORKERS=1")
	other := s.issueKey("other-tenant", "enterprise").Key

	r := s.submit("gpu.pdf", makePDF(1), map[string]string{"device": "gpu"})
	if r.status != http.StatusBadRequest {
		t.Fatalf("gpu job on the single node: %d %s", r.status, r.body)
	}
	if env := r.apiError(t); env.Error.Code != api.CodeInvalidRequest || env.Error.Details["field"] != "device" {
		t.Fatalf("gpu refusal: %s", r.body)
	}

	var flood []string
	for i := range 12 {
		flood = append(flood, s.submitOK(fmt.Sprintf("flood-%d.pdf", i), makePDF(40+i), nil).JobID)
	}
	body, ct := multipartBody(t, "single.pdf", makePDF(3), nil)
	r = s.as(other, http.MethodPost, "/api/v1/documents", body.Bytes(), ct)
	if r.status != http.StatusAccepted {
		t.Fatalf("the other tenant's job: %d %s", r.status, r.body)
	}
	var single api.Job
	r.json(t, &single)

	started := func(id, cred string) time.Time {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			var j api.Job
			s.as(cred, http.MethodGet, "/api/v1/jobs/"+id+"?wait=10s", nil, "").json(t, &j)
			if j.Status == "succeeded" {
				return j.StartedAt
			}
			if j.Status == "failed" || j.Status == "canceled" || time.Now().After(deadline) {
				t.Fatalf("job %s: %+v", id, j)
			}
		}
	}
	singleAt := started(single.JobID, other)
	// Flood jobs that started while the single one waited: one slot, so
	// one may have been placed in the round before it arrived.
	var overtook, waiting int
	for _, id := range flood {
		at := started(id, s.key)
		if at.After(single.CreatedAt) {
			waiting++
			if at.Before(singleAt) {
				overtook++
			}
		}
	}
	if waiting < 5 {
		t.Fatalf("only %d flood jobs were still waiting when the single job came; the test proves nothing", waiting)
	}
	if overtook > 2 {
		t.Fatalf("%d of the %d waiting flood jobs started before the other tenant's single job", overtook, waiting)
	}
	t.Logf("%d of the %d waiting flood jobs started before the other tenant's single job", overtook, waiting)
	if m := string(s.get("/metrics").body); !strings.Contains(m, "docstrange_scheduler_placements_total 13") {
		t.Errorf("metrics lack 13 placements:\n%s", m)
	}
}
