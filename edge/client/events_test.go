package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docstrange/mesh/api"
)

// writeStatus writes one status event as the edge does, and flushes it.
func writeStatus(w http.ResponseWriter, status string, done, total int) {
	b, _ := json.Marshal(api.Job{JobID: "job_1", Status: status, Progress: api.Progress{PagesDone: done, PagesTotal: total}})
	fmt.Fprintf(w, "event: status\ndata: %s\n\n", b)
	w.(http.Flusher).Flush()
}

func startStream(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
}

func collect(t *testing.T, s *EventStream) []string {
	t.Helper()
	var got []string
	for s.Next() {
		ev := s.Event()
		if ev.Type != EventStatus || ev.Job == nil {
			t.Fatalf("event %+v", ev)
		}
		got = append(got, fmt.Sprintf("%s %d/%d", ev.Job.Status, ev.Job.Progress.PagesDone, ev.Job.Progress.PagesTotal))
	}
	return got
}

func TestEvents(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/jobs/job_1/events" || r.Header.Get("Accept") != "text/event-stream" {
			t.Errorf("%s %v", r.URL.Path, r.Header)
		}
		startStream(w)
		writeStatus(w, StatusQueued, 0, 0)
		fmt.Fprint(w, ": keep-alive\n\n")
		writeStatus(w, StatusRunning, 1, 3)
		fmt.Fprint(w, ": keep-alive\n\n")
		writeStatus(w, StatusRunning, 2, 3)
		writeStatus(w, StatusSucceeded, 3, 3)
	}))
	t.Cleanup(srv.Close)
	s, err := newTestClient(t, srv).Events(t.Context(), "job_1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	got := collect(t, s)
	want := []string{"queued 0/0", "running 1/3", "running 2/3", "succeeded 3/3"}
	if fmt.Sprint(got) != fmt.Sprint(want) || s.Err() != nil {
		t.Fatalf("events %v (err %v), want %v", got, s.Err(), want)
	}
	if s.Next() {
		t.Fatal("Next after the terminal event")
	}
}

// TestEventsReconnect: a stream that drops before the job ends is
// reopened, and the events go on.
func TestEventsReconnect(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		startStream(w)
		if conns.Add(1) == 1 {
			writeStatus(w, StatusQueued, 0, 0)
			fmt.Fprint(w, "retry: 10\n\nevent: status\ndata: {\"status\":") // cut off
			return
		}
		writeStatus(w, StatusRunning, 1, 2)
		writeStatus(w, StatusCanceled, 1, 2)
	}))
	t.Cleanup(srv.Close)
	s, err := newTestClient(t, srv).Events(t.Context(), "job_1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	got := collect(t, s)
	want := []string{"queued 0/0", "running 1/2", "canceled 1/2"}
	if fmt.Sprint(got) != fmt.Sprint(want) || s.Err() != nil || conns.Load() != 2 {
		t.Fatalf("events %v over %d connections (err %v), want %v over 2", got, conns.Load(), s.Err(), want)
	}
}

func TestEventsErrors(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		// openErr is an error from Events itself; streamErr one from Err.
		openCode  string
		openIs    error
		streamErr bool
	}{
		{
			name: "unknown job",
			handler: func(w http.ResponseWriter, r *http.Request) {
				api.WriteError(w, api.Errorf(404, api.CodeJobNotFound, "no job"))
			},
			openCode: api.CodeJobNotFound,
		},
		{
			name: "not an event stream",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte("{}"))
			},
			openIs: ErrProtocol,
		},
		{
			name: "a status event that is not a job",
			handler: func(w http.ResponseWriter, r *http.Request) {
				startStream(w)
				fmt.Fprint(w, "event: status\ndata: not json\n\n")
			},
			streamErr: true,
		},
		{
			name: "the stream drops on every connection",
			handler: func(w http.ResponseWriter, r *http.Request) {
				startStream(w)
				writeStatus(w, StatusRunning, 0, 1)
				// After its first event each connection drops at once,
				// so the reconnections in a row add up.
			},
			streamErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			t.Cleanup(srv.Close)
			s, err := newTestClient(t, srv).Events(t.Context(), "job_1")
			if tt.openCode != "" || tt.openIs != nil {
				if err == nil || tt.openCode != "" && Code(err) != tt.openCode || tt.openIs != nil && !errors.Is(err, tt.openIs) {
					t.Fatalf("Events: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			deadline := time.After(10 * time.Second)
			for s.Next() {
				select {
				case <-deadline:
					t.Fatal("the stream never gave up")
				default:
				}
			}
			if (s.Err() != nil) != tt.streamErr {
				t.Fatalf("Err %v", s.Err())
			}
		})
	}
}

// TestEventsClose: Close ends a stream that is waiting for events.
func TestEventsClose(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		startStream(w)
		writeStatus(w, StatusRunning, 0, 1)
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	s, err := newTestClient(t, srv).Events(t.Context(), "job_1")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Next() {
		t.Fatal(s.Err())
	}
	time.AfterFunc(100*time.Millisecond, func() { s.Close() })
	done := make(chan bool)
	go func() { done <- s.Next() }()
	select {
	case more := <-done:
		if more || s.Err() != nil {
			t.Fatalf("after Close: Next %v, Err %v", more, s.Err())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end Next")
	}
}
