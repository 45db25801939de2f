package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/internal/redistest"
)

// TestTwoStacksDoNotInterfere runs two stacks side by side, as two
// developers on one machine would, with different data folders and ports.
func TestTwoStacksDoNotInterfere(t *testing.T) {
	a, b := startStack(t, "DOCSTRANGE_WORKERS=-1"), startStack(t, "DOCSTRANGE_WORKERS=-1")
	job := a.submitOK("hello.pdf", readFile(t, helloPDF), nil)
	if r := b.get("/api/v1/jobs/" + job.JobID); r.status != http.StatusNotFound {
		t.Fatalf("stack B sees stack A's job: %d %s", r.status, r.body)
	}
	var page api.JobList
	b.get("/api/v1/jobs").json(t, &page)
	if len(page.Jobs) != 0 {
		t.Fatalf("stack B lists jobs: %+v", page.Jobs)
	}
	a.get("/api/v1/jobs").json(t, &page)
	if len(page.Jobs) != 1 {
		t.Fatalf("stack A lists %d jobs", len(page.Jobs))
	}
}

// TestRedisStore runs the production store behind the same edge: a
// document goes through, and a job accepted before the edge restarts is
// still there and finishes after it.
func TestRedisStore(t *testing.T) {
	srv := redistest.Start(t, redistest.WithAOF())
	env := []string{"DOCSTRANGE_STORE=redis", "DOCSTRANGE_REDIS_ADDR=" + srv.Addr(), "DOCSTRANGE_REDIS_PREFIX=e2e:", testPepper}
	s := startStack(t, append(env, "DOCSTRANGE_WORKERS=-1")...)
	queued := s.submitOK("hello.pdf", readFile(t, helloPDF), nil)
	s.stop()
	// The same data folder, now with a worker.
	s.env = append(s.env, "DOCSTRANGE_WORKERS=2")
	s.start()
	if j := s.waitFor(queued.JobID, 60*time.Second); j.Status != "succeeded" {
		t.Fatalf("job after restart: %+v", j)
	}
	r := s.get("/api/v1/jobs/" + queued.JobID + "/result?format=text")
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "Hello Mesh") {
		t.Fatalf("result: %d %s", r.status, r.body)
	}
	var h api.Health
	s.get("/api/v1/health").json(t, &h)
	if h.Status != "ok" || h.Components["store"].Detail["kind"] != "redis" {
		t.Fatalf("health: %+v", h)
	}
	// Redis going away makes the edge unready and refuses work cleanly.
	srv.Kill()
	r = s.get("/api/v1/health/ready")
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("ready with redis down: %d %s", r.status, r.body)
	}
	r = s.submit("hello.pdf", readFile(t, helloPDF), nil)
	if r.status != http.StatusServiceUnavailable || r.apiError(t).Error.Code != api.CodeDependencyUnavailable {
		t.Fatalf("submit with redis down: %d %s", r.status, r.body)
	}
}
