package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/xid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/memstore"
	"github.com/docstrange/mesh/scheduler/webhook"
	"github.com/docstrange/mesh/sources/urlfetch"
)

// receiver records verified deliveries; fail makes it answer with that
// status instead.
type receiver struct {
	t      *testing.T
	wh     *standardwebhooks.Webhook
	srv    *httptest.Server
	mu     sync.Mutex
	fail   int
	got    []received
	tries  map[string]int
	badSig int
}

type received struct {
	id      string
	payload scheduler.EventPayload
	header  http.Header
}

func newReceiver(t *testing.T, secret string) *receiver {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, wh: wh, tries: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	id := req.Header.Get("webhook-id")
	r.tries[id]++
	if r.fail != 0 {
		w.WriteHeader(r.fail)
		return
	}
	if err := r.wh.Verify(body, req.Header); err != nil {
		r.badSig++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var p scheduler.EventPayload
	if err := json.Unmarshal(body, &p); err != nil {
		r.t.Errorf("payload %s: %v", body, err)
	}
	r.got = append(r.got, received{id: id, payload: p, header: req.Header.Clone()})
	w.WriteHeader(http.StatusOK)
}

func (r *receiver) setFail(status int) {
	r.mu.Lock()
	r.fail = status
	r.mu.Unlock()
}

func (r *receiver) received() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func poster(t *testing.T) *urlfetch.Fetcher {
	f, err := urlfetch.New(urlfetch.Config{MaxBytes: 1, Allow: []string{"127.0.0.1/32"}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func fastConfig() webhook.Config {
	return webhook.Config{RetryBase: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond, MaxAge: time.Minute, Timeout: time.Second, Poll: 10 * time.Millisecond}
}

var serverKey = []byte("0123456789abcdef0123456789abcdef")

func startSender(t *testing.T, s scheduler.Store, cfg webhook.Config) (stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	snd := webhook.New(s, poster(t), func(tenant string) []byte { return webhook.TenantKey(serverKey, tenant) }, cfg, slog.New(slog.DiscardHandler), nil)
	done := make(chan struct{})
	go func() { snd.Run(ctx); close(done) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

func openStore(t *testing.T, path string) *memstore.Store {
	s, err := memstore.Open(t.Context(), memstore.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// finished creates a job with the webhook and finishes it as st.
func finished(t *testing.T, s scheduler.Store, w *scheduler.Webhook, st scheduler.Status) *scheduler.Job {
	t.Helper()
	j := &scheduler.Job{ID: "job_" + xid.New().String(), Tenant: "acme", Status: scheduler.StatusQueued, CreatedAt: time.Now().UTC(),
		Options: scheduler.Options{OutputFormats: []string{"markdown"}, Webhook: w}}
	if _, err := s.Create(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	j, err := s.Update(t.Context(), j.ID, func(j *scheduler.Job) error { j.Status = st; j.FinishedAt = time.Now().UTC(); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// eventually polls cond for up to 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func delivery(t *testing.T, s scheduler.Store, id string) scheduler.Delivery {
	t.Helper()
	j, err := s.Get(t.Context(), id)
	if err != nil || len(j.Webhooks) == 0 {
		t.Fatalf("Get %s: %v, %d deliveries", id, err, len(j.Webhooks))
	}
	return j.Webhooks[0]
}

// TestSignedDelivery: a receiver verifying with the Standard Webhooks
// library accepts every delivery, with the job's own secret or with the
// tenant's derived one, and the payload is the job's public view.
func TestSignedDelivery(t *testing.T) {
	tests := []struct {
		name     string
		secret   string // the job's
		verifyAs string // the receiver's
		event    string
		status   scheduler.Status
	}{
		{name: "own whsec secret", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", verifyAs: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", event: scheduler.EventSucceeded, status: scheduler.StatusSucceeded},
		{name: "own raw secret", secret: "a plain shared secret", verifyAs: "whsec_YSBwbGFpbiBzaGFyZWQgc2VjcmV0", event: scheduler.EventFailed, status: scheduler.StatusFailed},
		{name: "tenant secret", verifyAs: webhook.TenantSecret(serverKey, "acme"), event: scheduler.EventCanceled, status: scheduler.StatusCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, "")
			rcv := newReceiver(t, tt.verifyAs)
			startSender(t, s, fastConfig())
			j := finished(t, s, &scheduler.Webhook{URL: rcv.srv.URL + "/hook", Secret: tt.secret}, tt.status)
			eventually(t, "the delivery", func() bool { return delivery(t, s, j.ID).State == scheduler.DeliveryDelivered })
			got := rcv.received()
			if len(got) != 1 || rcv.badSig != 0 {
				t.Fatalf("receiver got %d verified deliveries and %d bad signatures; want 1 and 0", len(got), rcv.badSig)
			}
			d := delivery(t, s, j.ID)
			p := got[0].payload
			data, _ := p.Data.(map[string]any)
			if got[0].id != d.ID || p.ID != d.ID || p.Type != tt.event || data["id"] != j.ID || data["status"] != string(tt.status) {
				t.Fatalf("received %+v; want event %s %s of job %s", got[0], d.ID, tt.event, j.ID)
			}
			if got[0].header.Get("X-DocStrange-Event") != tt.event || got[0].header.Get("X-DocStrange-Job-ID") != j.ID {
				t.Errorf("headers = %v", got[0].header)
			}
			if len(d.Attempts) != 1 || d.Attempts[0].StatusCode != 200 || d.Attempts[0].Error != "" || d.Claim != "" {
				t.Errorf("delivery record = %+v", d)
			}
		})
	}
}

// TestWrongSecretIsRejected: the receiver's check can fail: a delivery
// signed with another secret does not verify.
func TestWrongSecretIsRejected(t *testing.T) {
	s := openStore(t, "")
	rcv := newReceiver(t, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	startSender(t, s, fastConfig())
	j := finished(t, s, &scheduler.Webhook{URL: rcv.srv.URL, Secret: "not the receiver's secret"}, scheduler.StatusSucceeded)
	eventually(t, "a rejected attempt", func() bool { return len(delivery(t, s, j.ID).Attempts) > 0 })
	d := delivery(t, s, j.ID)
	if d.Attempts[0].StatusCode != http.StatusUnauthorized || d.State != scheduler.DeliveryPending || len(rcv.received()) != 0 {
		t.Fatalf("delivery = %+v, receiver accepted %d", d, len(rcv.received()))
	}
}

// TestRetriesThenDeadLetter: a receiver that keeps failing gets retries
// with growing gaps, and the delivery ends dead once MaxAge has passed.
func TestRetriesThenDeadLetter(t *testing.T) {
	s := openStore(t, "")
	rcv := newReceiver(t, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	rcv.setFail(http.StatusInternalServerError)
	cfg := fastConfig()
	cfg.MaxAge = 600 * time.Millisecond
	startSender(t, s, cfg)
	j := finished(t, s, &scheduler.Webhook{URL: rcv.srv.URL, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, scheduler.StatusSucceeded)
	eventually(t, "the dead letter", func() bool { return delivery(t, s, j.ID).State == scheduler.DeliveryDead })
	d := delivery(t, s, j.ID)
	if len(d.Attempts) < 3 {
		t.Fatalf("dead after %d attempts; want retries first", len(d.Attempts))
	}
	for i, a := range d.Attempts {
		if a.StatusCode != http.StatusInternalServerError || a.Error == "" {
			t.Errorf("attempt %d = %+v", i, a)
		}
	}
	// Equal jitter keeps each wait at least half its nominal delay, which
	// doubles from 20ms up to the 100ms cap.
	for i := 1; i < len(d.Attempts); i++ {
		gap := d.Attempts[i].At.Sub(d.Attempts[i-1].At)
		nominal := min(20*time.Millisecond<<(i-1), 100*time.Millisecond)
		if gap < nominal/2 {
			t.Errorf("gap before attempt %d = %v; want at least %v", i+1, gap, nominal/2)
		}
	}
	if last := d.Attempts[len(d.Attempts)-1].At; last.Sub(d.CreatedAt) > cfg.MaxAge+time.Second {
		t.Errorf("last attempt %v after the event; MaxAge is %v", last.Sub(d.CreatedAt), cfg.MaxAge)
	}
	n := len(d.Attempts)
	time.Sleep(200 * time.Millisecond)
	if got := len(delivery(t, s, j.ID).Attempts); got != n {
		t.Errorf("a dead delivery was tried again (%d attempts, then %d)", n, got)
	}
	if ids, _ := s.WebhooksDue(t.Context(), time.Now().Add(time.Hour), 10); len(ids) != 0 {
		t.Errorf("WebhooksDue = %v after the dead letter", ids)
	}
}

// TestGoneIsDeadAtOnce: 410 means the endpoint is gone; no retry.
func TestGoneIsDeadAtOnce(t *testing.T) {
	s := openStore(t, "")
	rcv := newReceiver(t, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	rcv.setFail(http.StatusGone)
	startSender(t, s, fastConfig())
	j := finished(t, s, &scheduler.Webhook{URL: rcv.srv.URL}, scheduler.StatusSucceeded)
	eventually(t, "the dead letter", func() bool { return delivery(t, s, j.ID).State == scheduler.DeliveryDead })
	if d := delivery(t, s, j.ID); len(d.Attempts) != 1 {
		t.Fatalf("attempts = %d; want 1", len(d.Attempts))
	}
}

// TestSurvivesRestart: deliveries that failed before the sender and its
// store went down are delivered after they come back, with the same event
// id, and nothing is delivered twice.
func TestSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	s := openStore(t, path)
	rcv := newReceiver(t, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	rcv.setFail(http.StatusServiceUnavailable)
	stop := startSender(t, s, fastConfig())
	var jobs []*scheduler.Job
	for range 3 {
		jobs = append(jobs, finished(t, s, &scheduler.Webhook{URL: rcv.srv.URL, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, scheduler.StatusSucceeded))
	}
	eventually(t, "failed attempts", func() bool { return len(delivery(t, s, jobs[2].ID).Attempts) > 0 })
	stop()
	ids := map[string]bool{}
	for _, j := range jobs {
		ids[delivery(t, s, j.ID).ID] = true
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	rcv.setFail(0)
	s = openStore(t, path)
	startSender(t, s, fastConfig())
	eventually(t, "deliveries after the restart", func() bool { return len(rcv.received()) == len(jobs) })
	// The sender records a delivery after the receiver's answer, and a
	// store write can lag on a loaded machine: wait for the records, then
	// give a duplicate time to arrive.
	eventually(t, "deliveries recorded after the restart", func() bool {
		for _, j := range jobs {
			if delivery(t, s, j.ID).State != scheduler.DeliveryDelivered {
				return false
			}
		}
		return true
	})
	time.Sleep(100 * time.Millisecond)
	seen := map[string]int{}
	for _, r := range rcv.received() {
		seen[r.id]++
	}
	for id := range ids {
		if seen[id] != 1 {
			t.Errorf("event %s delivered %d times after the restart; want 1", id, seen[id])
		}
	}
	for _, j := range jobs {
		d := delivery(t, s, j.ID)
		if d.State != scheduler.DeliveryDelivered || len(d.Attempts) < 2 || d.Attempts[0].StatusCode != http.StatusServiceUnavailable {
			t.Errorf("job %s delivery = %+v; want failed attempts before the restart, then delivered", j.ID, d)
		}
	}
}

// TestSendersShareAStore: two senders on one store (two edges on one
// Redis) deliver each event once.
func TestSendersShareAStore(t *testing.T) {
	s := openStore(t, "")
	rcv := newReceiver(t, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	startSender(t, s, fastConfig())
	startSender(t, s, fastConfig())
	const n = 20
	for range n {
		finished(t, s, &scheduler.Webhook{URL: rcv.srv.URL, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, scheduler.StatusSucceeded)
	}
	eventually(t, "every delivery", func() bool { return len(rcv.received()) >= n })
	time.Sleep(200 * time.Millisecond)
	seen := map[string]int{}
	for _, r := range rcv.received() {
		seen[r.id]++
	}
	if len(seen) != n {
		t.Fatalf("%d distinct events; want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("event %s delivered %d times", id, c)
		}
	}
}

// TestOrderWithinAJob: progress events precede the terminal one.
func TestOrderWithinAJob(t *testing.T) {
	s := openStore(t, "")
	rcv := newReceiver(t, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	w := &scheduler.Webhook{URL: rcv.srv.URL, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Events: []string{scheduler.EventProgress, scheduler.EventSucceeded}}
	j := &scheduler.Job{ID: "job_" + xid.New().String(), Tenant: "acme", Status: scheduler.StatusQueued, Options: scheduler.Options{Webhook: w}}
	if _, err := s.Create(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	for p := 1; p <= 3; p++ {
		if _, err := s.Update(t.Context(), j.ID, func(j *scheduler.Job) error {
			j.Status, j.Progress = scheduler.StatusRunning, scheduler.Progress{PagesTotal: 3, PagesDone: p}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Update(t.Context(), j.ID, func(j *scheduler.Job) error { j.Status = scheduler.StatusSucceeded; return nil }); err != nil {
		t.Fatal(err)
	}
	startSender(t, s, fastConfig())
	eventually(t, "the terminal event", func() bool {
		got := rcv.received()
		return len(got) > 0 && got[len(got)-1].payload.Type == scheduler.EventSucceeded
	})
	got := rcv.received()
	if len(got) != 2 || got[0].payload.Type != scheduler.EventProgress {
		t.Fatalf("received %d events, first %q; want the coalesced progress event, then succeeded", len(got), got[0].payload.Type)
	}
	if data, _ := got[0].payload.Data.(map[string]any); data["progress"].(map[string]any)["pages_done"] != float64(3) {
		t.Errorf("progress payload = %v; want the latest progress", data)
	}
}

func TestBackoff(t *testing.T) {
	snd := webhook.New(openStore(t, ""), poster(t), nil, webhook.Config{RetryBase: time.Second, RetryMax: 8 * time.Second}, slog.New(slog.DiscardHandler), nil)
	tests := []struct {
		name string
		n    int
		max  time.Duration
	}{
		{name: "first retry", n: 1, max: time.Second},
		{name: "doubles", n: 2, max: 2 * time.Second},
		{name: "doubles again", n: 3, max: 4 * time.Second},
		{name: "capped", n: 10, max: 8 * time.Second},
		{name: "capped far out", n: 500, max: 8 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 200 {
				if d := snd.Backoff(tt.n); d < tt.max/2 || d > tt.max {
					t.Fatalf("Backoff(%d) = %v; want within [%v, %v]", tt.n, d, tt.max/2, tt.max)
				}
			}
		})
	}
}
