package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docstrange/mesh/api"
)

// sseEvent is one event or comment line group from a stream.
type sseEvent struct {
	comment bool
	job     api.Job
	at      time.Time
}

// readSSE reads the job's event stream until it ends or ctx does.
func (s *stack) readSSE(ctx context.Context, t *testing.T, jobID string, out chan<- sseEvent) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/api/v1/jobs/"+jobID+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+s.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("events: %v", err)
		close(out)
		return
	}
	go func() {
		defer close(out)
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Errorf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			return
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, ":"):
				out <- sseEvent{comment: true, at: time.Now()}
			case strings.HasPrefix(line, "data: "):
				var j api.Job
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &j); err != nil {
					t.Errorf("event data %q: %v", line, err)
					return
				}
				out <- sseEvent{job: j, at: time.Now()}
			}
		}
	}()
}

var statusOrder = map[string]int{"queued": 0, "running": 1, "succeeded": 2, "failed": 2, "canceled": 2}

// TestSSE: the event stream carries status, pages_done and pages_total in
// order, never going back, ends with the terminal state, and sends
// heartbeats while nothing changes. It authenticates with the usual
// header; no key goes in the URL.
func TestSSE(t *testing.T) {
	s := startStack(t, "DOCSTRANGE_SSE_KEEPALIVE=200ms", "DOCSTRANGE_WORKERS=-1")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	t.Run("heartbeats, then the cancel", func(t *testing.T) {
		job := s.submitOK("hello.pdf", readFile(t, helloPDF), nil)
		events := make(chan sseEvent, 64)
		s.readSSE(ctx, t, job.JobID, events)
		first := <-events
		if first.comment || first.job.Status != "queued" {
			t.Fatalf("first event %+v", first)
		}
		beats := 0
		for beats < 3 {
			e, ok := <-events
			if !ok {
				t.Fatal("the stream ended while the job was queued")
			}
			if !e.comment {
				t.Fatalf("an event while nothing changed: %+v", e.job)
			}
			beats++
		}
		if r := s.delete("/api/v1/jobs/" + job.JobID); r.status >= 300 {
			t.Fatalf("cancel: %d %s", r.status, r.body)
		}
		for e := range events {
			if !e.comment {
				if e.job.Status != "canceled" {
					t.Fatalf("after the cancel: %+v", e.job)
				}
				return
			}
		}
		t.Fatal("the stream ended without the canceled state")
	})

	t.Run("progress in order", func(t *testing.T) {
		s.stop()
		s.env = append(s.env, "DOCSTRANGE_WORKERS=1")
		s.start()
		job := s.submitOK("long.pdf", makePDF(120), nil)
		events := make(chan sseEvent, 1024)
		s.readSSE(ctx, t, job.JobID, events)
		lastStatus, lastDone, seen := -1, -1, 0
		var final api.Job
		for e := range events {
			if e.comment {
				continue
			}
			seen++
			st, ok := statusOrder[e.job.Status]
			if !ok || st < lastStatus {
				t.Fatalf("status went from %d to %s", lastStatus, e.job.Status)
			}
			if e.job.Progress.PagesDone < lastDone || e.job.Progress.PagesTotal != 120 {
				t.Fatalf("progress %+v after %d pages done", e.job.Progress, lastDone)
			}
			lastStatus, lastDone, final = st, e.job.Progress.PagesDone, e.job
		}
		if final.Status != "succeeded" || final.Progress.PagesDone != 120 || seen < 2 {
			t.Fatalf("stream ended at %+v after %d events", final, seen)
		}
		t.Logf("%d events", seen)
	})
}
