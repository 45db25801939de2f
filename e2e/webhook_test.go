package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/docstrange/mesh/api"
)

// hookReceiver is a client's webhook endpoint: it verifies each delivery
// with the Standard Webhooks library, as a receiver would, and answers
// with status (200 unless set).
type hookReceiver struct {
	srv    *httptest.Server
	wh     *standardwebhooks.Webhook
	mu     sync.Mutex
	status int
	events []hookEvent
	bad    int
}

type hookEvent struct {
	ID   string  `json:"id"`
	Type string  `json:"type"`
	Data api.Job `json:"data"`
}

func newHookReceiver(t *testing.T, secret string) *hookReceiver {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	h := &hookReceiver{wh: wh, status: http.StatusOK}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.status != http.StatusOK {
			w.WriteHeader(h.status)
			return
		}
		if err := h.wh.Verify(body, r.Header); err != nil {
			h.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var ev hookEvent
		if err := json.Unmarshal(body, &ev); err != nil || ev.ID != r.Header.Get("webhook-id") {
			h.bad++
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		h.events = append(h.events, ev)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) set(status int) {
	h.mu.Lock()
	h.status = status
	h.mu.Unlock()
}

func (h *hookReceiver) got() ([]hookEvent, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookEvent(nil), h.events...), h.bad
}

func webhookOptions(url, secret string, events ...string) map[string]string {
	w := map[string]any{"url": url}
	if secret != "" {
		w["secret"] = secret
	}
	if len(events) > 0 {
		w["events"] = events
	}
	b, _ := json.Marshal(map[string]any{"webhook": w})
	return map[string]string{"options": string(b)}
}

func (s *stack) deliveries(id string) api.WebhookDeliveries {
	s.t.Helper()
	r := s.get("/api/v1/jobs/" + id + "/webhooks")
	if r.status != http.StatusOK {
		s.t.Fatalf("GET webhooks: %d %s", r.status, r.body)
	}
	var v api.WebhookDeliveries
	r.json(s.t, &v)
	return v
}

// waitDeliveries polls the delivery history until cond holds.
func (s *stack) waitDeliveries(id string, within time.Duration, cond func(api.WebhookDeliveries) bool) api.WebhookDeliveries {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		v := s.deliveries(id)
		if cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("delivery history never reached the expected state: %+v", v)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestWebhooks: signed deliveries a receiver verifies, with the tenant's
// secret from /api/v1/me or the job's own, progress events when asked,
// the history in GET …/webhooks, and the refusals at submission.
func TestWebhooks(t *testing.T) {
	s := startStack(t, "DOCSTRANGE_WEBHOOK_ALLOW=127.0.0.1/32", "DOCSTRANGE_WEBHOOK_RETRY_BASE=100ms")
	var me struct {
		WebhookSecret string `json:"webhook_secret"`
	}
	s.get("/api/v1/me").json(t, &me)
	if !strings.HasPrefix(me.WebhookSecret, "whsec_") {
		t.Fatalf("/api/v1/me webhook_secret = %q", me.WebhookSecret)
	}

	t.Run("tenant secret", func(t *testing.T) {
		rcv := newHookReceiver(t, me.WebhookSecret)
		job := s.submitOK("hello.pdf", readFile(t, helloPDF), webhookOptions(rcv.srv.URL+"/hook", ""))
		if job.Links.Webhooks == "" {
			t.Errorf("links.webhooks missing: %+v", job.Links)
		}
		s.waitFor(job.JobID, 60*time.Second)
		v := s.waitDeliveries(job.JobID, 20*time.Second, func(v api.WebhookDeliveries) bool {
			return len(v.Deliveries) == 1 && v.Deliveries[0].State == "delivered"
		})
		events, bad := rcv.got()
		if len(events) != 1 || bad != 0 {
			t.Fatalf("receiver: %d verified events, %d refused; want 1 and 0", len(events), bad)
		}
		ev := events[0]
		if ev.Type != "job.succeeded" || ev.Data.JobID != job.JobID || ev.Data.Status != "succeeded" || ev.ID != v.Deliveries[0].ID {
			t.Fatalf("event %+v; history %+v", ev, v)
		}
		if a := v.Deliveries[0].Attempts; len(a) != 1 || a[0].StatusCode != 200 {
			t.Errorf("attempts = %+v", a)
		}
		if v.URL != rcv.srv.URL+"/hook" || len(v.Events) != 3 {
			t.Errorf("history header = %+v", v)
		}
	})

	t.Run("own secret with progress", func(t *testing.T) {
		const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		rcv := newHookReceiver(t, secret)
		job := s.submitOK("pages.pdf", makePDF(30), webhookOptions(rcv.srv.URL, secret, "job.progress", "job.succeeded"))
		s.waitFor(job.JobID, 60*time.Second)
		s.waitDeliveries(job.JobID, 20*time.Second, func(v api.WebhookDeliveries) bool {
			n := len(v.Deliveries)
			return n > 0 && v.Deliveries[n-1].Event == "job.succeeded" && v.Deliveries[n-1].State == "delivered"
		})
		events, bad := rcv.got()
		if bad != 0 || len(events) < 2 || events[len(events)-1].Type != "job.succeeded" {
			t.Fatalf("receiver: %d events (%d refused); want progress then succeeded", len(events), bad)
		}
		last := 0
		for _, ev := range events[:len(events)-1] {
			if ev.Type != "job.progress" || ev.Data.Progress.PagesDone < last {
				t.Fatalf("progress events out of order: %+v", events)
			}
			last = ev.Data.Progress.PagesDone
		}
	})

	t.Run("refused at submission", func(t *testing.T) {
		pdf := readFile(t, helloPDF)
		r := s.submit("hello.pdf", pdf, webhookOptions("http://169.254.169.254/latest", ""))
		if e := wantError(t, r, http.StatusBadRequest, api.CodeURLNotAllowed); e.Error.Details["field"] != "webhook.url" {
			t.Errorf("details = %v", e.Error.Details)
		}
		r = s.submit("hello.pdf", pdf, webhookOptions(rcv(t), "short"))
		if e := wantError(t, r, http.StatusBadRequest, api.CodeInvalidRequest); e.Error.Details["field"] != "webhook.secret" || strings.Contains(string(r.body), "short") {
			t.Errorf("bad secret answer: %s", r.body)
		}
		r = s.submit("hello.pdf", pdf, webhookOptions(rcv(t), "", "job.exploded"))
		if e := wantError(t, r, http.StatusBadRequest, api.CodeInvalidRequest); e.Error.Details["field"] != "webhook.events" {
			t.Errorf("details = %v", e.Error.Details)
		}
		body, ct := multipartBody(t, "hello.pdf", pdf, webhookOptions(rcv(t), ""))
		req, _ := http.NewRequest(http.MethodPost, s.base+"/api/v1/documents", strings.NewReader(body.String()))
		req.Header.Set("Content-Type", ct)
		if e := wantError(t, s.do(anonymous(req)), http.StatusForbidden, api.CodeForbidden); e.Error.Details["feature"] != "webhook" || e.Error.Details["reason"] != "FEATURE_NOT_IN_TIER" {
			t.Errorf("free tier with a webhook: %v", e.Error.Details)
		}
	})
}

// rcv is a receiver URL for submissions that are refused before any
// delivery.
func rcv(t *testing.T) string {
	return newHookReceiver(t, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").srv.URL
}

// TestWebhookSurvivesRestart: a delivery that failed before the edge went
// down is delivered after it comes back, with the same event id, and its
// history keeps the failed attempts.
func TestWebhookSurvivesRestart(t *testing.T) {
	s := startStack(t, "DOCSTRANGE_WEBHOOK_ALLOW=127.0.0.1/32", "DOCSTRANGE_WEBHOOK_RETRY_BASE=200ms", "DOCSTRANGE_WEBHOOK_POLL=50ms")
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	rcv := newHookReceiver(t, secret)
	rcv.set(http.StatusServiceUnavailable)
	job := s.submitOK("hello.pdf", readFile(t, helloPDF), webhookOptions(rcv.srv.URL, secret))
	s.waitFor(job.JobID, 60*time.Second)
	before := s.waitDeliveries(job.JobID, 20*time.Second, func(v api.WebhookDeliveries) bool {
		return len(v.Deliveries) == 1 && len(v.Deliveries[0].Attempts) >= 2
	})
	s.stop()
	rcv.set(http.StatusOK)
	s.start()
	after := s.waitDeliveries(job.JobID, 30*time.Second, func(v api.WebhookDeliveries) bool {
		return len(v.Deliveries) == 1 && v.Deliveries[0].State == "delivered"
	})
	d := after.Deliveries[0]
	if d.ID != before.Deliveries[0].ID || d.Attempts[0].StatusCode != http.StatusServiceUnavailable || d.Attempts[len(d.Attempts)-1].StatusCode != http.StatusOK {
		t.Fatalf("before %+v\nafter %+v", before.Deliveries[0], d)
	}
	events, bad := rcv.got()
	if len(events) != 1 || bad != 0 || events[0].ID != d.ID {
		t.Fatalf("receiver got %+v (%d refused); want the one event %s", events, bad, d.ID)
	}
}

// TestWebhookDeadLetter: a receiver that keeps failing gets retries, then
// the delivery is dead and stays visible.
func TestWebhookDeadLetter(t *testing.T) {
	s := startStack(t, "DOCSTRANGE_WEBHOOK_ALLOW=127.0.0.1/32", "DOCSTRANGE_WEBHOOK_RETRY_BASE=100ms", "DOCSTRANGE_WEBHOOK_MAX_AGE=2s", "DOCSTRANGE_WEBHOOK_POLL=50ms")
	rcv := newHookReceiver(t, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	rcv.set(http.StatusInternalServerError)
	job := s.submitOK("hello.pdf", readFile(t, helloPDF), webhookOptions(rcv.srv.URL, ""))
	s.waitFor(job.JobID, 60*time.Second)
	v := s.waitDeliveries(job.JobID, 30*time.Second, func(v api.WebhookDeliveries) bool {
		return len(v.Deliveries) == 1 && v.Deliveries[0].State == "dead"
	})
	d := v.Deliveries[0]
	if len(d.Attempts) < 3 {
		t.Fatalf("dead after %d attempts; want retries first: %+v", len(d.Attempts), d)
	}
	for _, a := range d.Attempts {
		if a.StatusCode != http.StatusInternalServerError || a.Error == "" {
			t.Errorf("attempt %+v", a)
		}
	}
	if !d.NextAttemptAt.IsZero() {
		t.Errorf("a dead delivery has a next attempt: %v", d.NextAttemptAt)
	}
}
