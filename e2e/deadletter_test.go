package e2e

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/internal/redistest"
	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/redisstore"
)

// deadLetterPage is GET /admin/v1/dead-letters.
type deadLetterPage struct {
	Jobs []struct {
		ID             string              `json:"id"`
		Tenant         string              `json:"tenant"`
		Status         string              `json:"status"`
		Attempts       int                 `json:"attempts"`
		Error          *scheduler.JobError `json:"error"`
		DeadLetteredAt time.Time           `json:"dead_lettered_at"`
		InputExpired   bool                `json:"input_expired"`
	} `json:"jobs"`
	NextBefore string `json:"next_before"`
}

// TestDeadLetters: a job whose workers all died holding it (three leases
// ran out with no hand-back) is failed by the next worker that claims it
// instead of running a fourth time, with WORKER_TIMEOUT, and listed on the
// admin API's dead-letter list; a redrive queues it again under its own id
// and it succeeds. The real worker binary and the real edge share Redis.
func TestDeadLetters(t *testing.T) {
	srv := redistest.Start(t)
	blobs := t.TempDir()
	shared := []string{"DOCSTRANGE_REDIS_ADDR=" + srv.Addr(), "DOCSTRANGE_REDIS_PREFIX=dl:", "DOCSTRANGE_BLOB_DIR=" + blobs}
	s := startStack(t, append([]string{"DOCSTRANGE_STORE=redis", testPepper, "DOCSTRANGE_WORKERS=-1"}, shared...)...)
	rs, err := redisstore.New(t.Context(), redisstore.Config{Addr: srv.Addr(), Prefix: "dl:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })

	job := s.submitOK("hello.pdf", readFile(t, helloPDF), nil)
	// Three workers claim it, start it, and die: nothing hands it back.
	for i := range 3 {
		l, err := rs.Claim(t.Context(), "doomed", 100*time.Millisecond)
		if err != nil || l.JobID != job.JobID {
			t.Fatalf("claim %d: %+v %v", i, l, err)
		}
		if _, err := rs.Update(t.Context(), job.JobID, func(j *scheduler.Job) error {
			j.Status, j.Attempts = scheduler.StatusRunning, j.Attempts+1
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(150 * time.Millisecond)
	}
	startWorker(t, append(shared, "DOCSTRANGE_CACHE_DIR="+filepath.Join(t.TempDir(), "wazero"))...)
	failed := s.waitFor(job.JobID, 30*time.Second)
	if failed.Status != "failed" || failed.Error == nil || failed.Error.Code != api.CodeWorkerTimeout || failed.Attempts != 3 {
		t.Fatalf("after three lost leases: %+v (error %+v)", failed, failed.Error)
	}

	t.Run("listed", func(t *testing.T) {
		var page deadLetterPage
		r := s.adminJSON(http.MethodGet, "/admin/v1/dead-letters", nil)
		if r.status != http.StatusOK {
			t.Fatalf("list: %d %s", r.status, r.body)
		}
		r.json(t, &page)
		if len(page.Jobs) != 1 || page.Jobs[0].ID != job.JobID || page.Jobs[0].Error == nil || page.Jobs[0].Error.Code != api.CodeWorkerTimeout ||
			page.Jobs[0].Attempts != 3 || page.Jobs[0].DeadLetteredAt.IsZero() || page.Jobs[0].InputExpired || page.NextBefore != "" {
			t.Fatalf("dead letters: %s", r.body)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		tests := []struct {
			name, method, path string
			noToken            bool
			status             int
			code               string
		}{
			{"no token", http.MethodGet, "/admin/v1/dead-letters", true, http.StatusUnauthorized, api.CodeUnauthenticated},
			{"bad limit", http.MethodGet, "/admin/v1/dead-letters?limit=0", false, http.StatusBadRequest, api.CodeInvalidRequest},
			{"bad before", http.MethodGet, "/admin/v1/dead-letters?before=yesterday", false, http.StatusBadRequest, api.CodeInvalidRequest},
			{"unknown job", http.MethodPost, "/admin/v1/dead-letters/job_nope/redrive", false, http.StatusNotFound, api.CodeJobNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var r *response
				if tt.noToken {
					req, _ := http.NewRequest(tt.method, s.admin+tt.path, nil)
					r = s.do(anonymous(req))
				} else {
					r = s.adminJSON(tt.method, tt.path, nil)
				}
				if r.status != tt.status || r.apiError(t).Error.Code != tt.code {
					t.Fatalf("%s %s: %d %s; want %d %s", tt.method, tt.path, r.status, r.body, tt.status, tt.code)
				}
			})
		}
	})
	t.Run("redrive", func(t *testing.T) {
		r := s.adminJSON(http.MethodPost, "/admin/v1/dead-letters/"+job.JobID+"/redrive", nil)
		if r.status != http.StatusOK {
			t.Fatalf("redrive: %d %s", r.status, r.body)
		}
		if j := s.waitFor(job.JobID, 60*time.Second); j.Status != "succeeded" || j.Attempts != 1 {
			t.Fatalf("after redrive: %+v (error %+v)", j, j.Error)
		}
		var page deadLetterPage
		s.adminJSON(http.MethodGet, "/admin/v1/dead-letters", nil).json(t, &page)
		if len(page.Jobs) != 0 {
			t.Fatalf("dead letters after redrive: %+v", page.Jobs)
		}
		r = s.adminJSON(http.MethodPost, "/admin/v1/dead-letters/"+job.JobID+"/redrive", nil)
		if r.status != http.StatusConflict || r.apiError(t).Error.Code != api.CodeJobNotDeadLettered {
			t.Fatalf("second redrive: %d %s", r.status, r.body)
		}
	})
}
