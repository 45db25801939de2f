package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docstrange/mesh/api"
)

// stubKey is the only API key the stub edge accepts.
const stubKey = "dsk_stub"

// stubEdge mimics the edge's API contract: the static ping, GET /api/v1/me
// behind a key check (401 without stubKey, 429 after rateLimit requests
// when it is set, anonymous when anonymous is set), submits that answer 202
// with a job id (or a 500 envelope every rejectEvery-th time), and jobs that
// finish after jobTime, failing every failEvery-th one. A jobTime below
// zero means jobs never finish.
type stubEdge struct {
	stubConfig
	file []byte

	pings      atomic.Int64
	mes        atomic.Int64
	submits    atomic.Int64
	rejected   atomic.Int64
	accepted   atomic.Int64
	failing    atomic.Int64
	badUploads atomic.Int64

	mu   sync.Mutex
	jobs map[string]stubJob
}

type stubConfig struct {
	rejectEvery int64
	failEvery   int64
	jobTime     time.Duration
	rateLimit   int64
	anonymous   bool
}

type stubJob struct {
	created  time.Time
	finishAt time.Time // zero: never
	fail     bool
}

func (s *stubEdge) start(t *testing.T) *httptest.Server {
	s.jobs = map[string]stubJob{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/ping", func(w http.ResponseWriter, r *http.Request) {
		s.pings.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"pong":true}`)
	})
	mux.HandleFunc("GET /api/v1/me", s.me)
	mux.HandleFunc("GET /api/v1/health/ready", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"status":"ready"}`)
	})
	mux.HandleFunc("POST /api/v1/documents", s.submit)
	mux.HandleFunc("GET /api/v1/jobs/{id}", s.job)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func (s *stubEdge) me(w http.ResponseWriter, r *http.Request) {
	n := s.mes.Add(1)
	kind, tier := "api_key", "enterprise"
	switch {
	case s.anonymous:
		kind, tier = "anonymous", "free"
	case r.Header.Get("Authorization") != "Bearer "+stubKey:
		api.WriteError(w, api.Errorf(http.StatusUnauthorized, api.CodeUnauthenticated, "the API key is not valid"))
		return
	case s.rateLimit > 0 && n > s.rateLimit:
		api.WriteError(w, api.Errorf(http.StatusTooManyRequests, api.CodeRateLimitExceeded, "the enterprise tier allows %d requests per minute", s.rateLimit))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("RateLimit-Limit", "1000000")
	fmt.Fprintf(w, `{"identity":{"kind":%q,"tenant":"bench","tier":%q,"key_id":"key_1"},"features":[]}`, kind, tier)
}

func (s *stubEdge) submit(w http.ResponseWriter, r *http.Request) {
	n := s.submits.Add(1)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		s.badUploads.Add(1)
		api.WriteError(w, api.Errorf(http.StatusBadRequest, api.CodeInvalidRequest, "%v", err))
		return
	}
	f, _, err := r.FormFile("file")
	if err != nil {
		s.badUploads.Add(1)
		api.WriteError(w, api.Errorf(http.StatusBadRequest, api.CodeInvalidRequest, "%v", err))
		return
	}
	got, _ := io.ReadAll(f)
	if !bytes.Equal(got, s.file) {
		s.badUploads.Add(1)
	}
	if s.rejectEvery > 0 && n%s.rejectEvery == 0 {
		s.rejected.Add(1)
		api.WriteError(w, api.Errorf(http.StatusInternalServerError, api.CodeInternal, "stub failure %d", n))
		return
	}
	id := fmt.Sprintf("job_%d", n)
	j := stubJob{created: time.Now()}
	if s.jobTime >= 0 {
		j.finishAt = j.created.Add(s.jobTime)
	}
	if s.failEvery > 0 && s.accepted.Add(1)%s.failEvery == 0 {
		j.fail = true
		s.failing.Add(1)
	} else if s.failEvery == 0 {
		s.accepted.Add(1)
	}
	s.mu.Lock()
	s.jobs[id] = j
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(map[string]string{"job_id": id, "status": "queued"})
}

func (s *stubEdge) job(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	j, ok := s.jobs[id]
	s.mu.Unlock()
	if !ok {
		api.WriteError(w, api.Errorf(http.StatusNotFound, api.CodeJobNotFound, "no job %s", id))
		return
	}
	done := !j.finishAt.IsZero() && !time.Now().Before(j.finishAt)
	if wait, err := time.ParseDuration(r.URL.Query().Get("wait")); err == nil && !done {
		until := time.Now().Add(wait)
		if !j.finishAt.IsZero() && j.finishAt.Before(until) {
			until = j.finishAt
		}
		select {
		case <-time.After(time.Until(until)):
		case <-r.Context().Done():
			return
		}
		done = !j.finishAt.IsZero() && !time.Now().Before(j.finishAt)
	}
	out := api.Job{ID: id, JobID: id, Status: "running", CreatedAt: j.created}
	if done {
		out.Status, out.FinishedAt = "succeeded", j.finishAt
		if j.fail {
			out.Status = "failed"
			out.Error = &api.JobError{Code: api.CodeProcessingError, Message: "stub"}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}
