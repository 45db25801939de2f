package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docstrange/mesh/api"
)

// EventStatus is the type of the events that carry the job.
const EventStatus = "status"

// Reconnection bounds: maxReconnects drops in a row without a new event
// end the stream, unless the connection had lasted stableConnection.
const (
	maxReconnects    = 5
	stableConnection = time.Minute
)

// Event is one Server-Sent Event of a job's stream.
type Event struct {
	// Type is the event's name: EventStatus for the job's state.
	Type string
	// ID is the stream's last event id, if the edge sends ids.
	ID string
	// Data is the event's data, the data lines joined with newlines.
	Data string
	// Job is the job as of this event, for EventStatus events; nil for
	// other types.
	Job *api.Job
}

// EventStream follows a job's events, like bufio.Scanner:
//
//	s, err := c.Events(ctx, id)
//	if err != nil { … }
//	defer s.Close()
//	for s.Next() {
//		ev := s.Event()
//	}
//	if err := s.Err(); err != nil { … }
//
// The edge sends the job at once and on every change, and closes the
// stream after the job ends; Next then returns false with a nil Err. An
// event identical to the one before is not passed on. A stream that drops
// before the end is reopened, and the edge starts the new one with the
// current state; five drops in a row without a new event end it.
type EventStream struct {
	c      *Client
	ctx    context.Context
	cancel context.CancelFunc
	id     string

	// mu guards body, which Close may reach from another goroutine.
	mu     sync.Mutex
	body   io.ReadCloser
	closed atomic.Bool

	sse   *sseReader
	ev    Event
	err   error
	ended bool
	// last is the data of the last event, which a reopened stream sends
	// again; it is not passed on twice.
	last string
	// failures counts reconnections without progress, and opened is when
	// the current connection was made.
	failures int
	opened   time.Time
}

// Events opens the job's event stream. An unknown job fails here, with
// JOB_NOT_FOUND; ctx bounds the whole stream.
func (c *Client) Events(ctx context.Context, id string) (*EventStream, error) {
	ctx, cancel := context.WithCancel(ctx)
	s := &EventStream{c: c, ctx: ctx, cancel: cancel, id: id}
	if err := s.open(""); err != nil {
		cancel()
		return nil, err
	}
	return s, nil
}

func (s *EventStream) open(lastID string) error {
	h := http.Header{"Accept": {"text/event-stream"}, "Cache-Control": {"no-cache"}}
	if lastID != "" {
		h.Set("Last-Event-ID", lastID)
	}
	req := &request{
		method: http.MethodGet, url: s.c.endpoint("jobs/"+url.PathEscape(s.id)+"/events", nil),
		header: h, idempotent: true,
	}
	resp, err := s.c.do(s.ctx, req)
	if err != nil {
		return fmt.Errorf("following job %s: %w", s.id, err)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		resp.Body.Close()
		return fmt.Errorf("following job %s: Content-Type %q: %w", s.id, resp.Header.Get("Content-Type"), ErrProtocol)
	}
	s.mu.Lock()
	s.body = resp.Body
	s.mu.Unlock()
	s.sse = newSSEReader(resp.Body)
	s.opened = time.Now()
	return nil
}

// Next advances to the next event; false at the end of the job's events,
// on an error, or once ctx ends.
func (s *EventStream) Next() bool {
	if s.err != nil || s.closed.Load() || s.ended {
		return false
	}
	for {
		ev, err := s.sse.next()
		if err == nil {
			if ev.Data == s.last {
				continue
			}
			s.last, s.failures = ev.Data, 0
			s.ev = Event{Type: ev.Type, ID: ev.ID, Data: ev.Data}
			if ev.Type == EventStatus {
				var j api.Job
				if err := json.Unmarshal([]byte(ev.Data), &j); err != nil {
					s.err = fmt.Errorf("following job %s: decoding event %q: %w", s.id, ev.Data, errors.Join(ErrProtocol, err))
					return false
				}
				s.ev.Job = &j
				s.ended = Terminal(j.Status)
			}
			return true
		}
		if s.ctx.Err() != nil {
			if !s.closed.Load() {
				s.err = fmt.Errorf("following job %s: %w", s.id, s.ctx.Err())
			}
			return false
		}
		// The stream dropped before the job ended: reopen it.
		s.closeBody()
		if time.Since(s.opened) >= stableConnection {
			s.failures = 0
		}
		s.failures++
		if s.failures > maxReconnects {
			s.err = fmt.Errorf("following job %s: the stream dropped %d times: %w", s.id, maxReconnects, err)
			return false
		}
		delay := s.c.retry.backoffFor(s.failures)
		if s.sse.retry > 0 {
			delay = s.sse.retry
		}
		if werr := sleep(s.ctx, delay); werr != nil {
			s.err = fmt.Errorf("following job %s: %w", s.id, werr)
			return false
		}
		prev := s.sse
		if oerr := s.open(prev.lastID); oerr != nil {
			s.err = oerr
			return false
		}
		s.sse.lastID, s.sse.retry = prev.lastID, prev.retry
	}
}

// Event is the event Next advanced to.
func (s *EventStream) Event() Event { return s.ev }

// Err is why Next returned false; nil when the job ended.
func (s *EventStream) Err() error { return s.err }

// Close ends the stream, also from another goroutine while Next waits;
// it is safe to call more than once.
func (s *EventStream) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.cancel()
	return s.closeBody()
}

func (s *EventStream) closeBody() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.body == nil {
		return nil
	}
	err := s.body.Close()
	s.body = nil
	return err
}
