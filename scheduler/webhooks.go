package scheduler

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
)

// Webhook events a job announces. The terminal three are sent by default;
// job.progress only when the webhook lists it in Events.
const (
	EventSucceeded = "job.succeeded"
	EventFailed    = "job.failed"
	EventCanceled  = "job.canceled"
	EventProgress  = "job.progress"
)

// Events lists every webhook event, in the order documentation shows them.
var Events = []string{EventSucceeded, EventFailed, EventCanceled, EventProgress}

// DefaultEvents are the events of a webhook that names none.
var DefaultEvents = []string{EventSucceeded, EventFailed, EventCanceled}

// MaxDeliveries bounds a job's delivery history. Terminal events are always
// recorded; progress events beyond the bound are dropped, so a job of
// thousands of pages cannot grow its record without limit.
const MaxDeliveries = 64

// DeliveryState is where one webhook delivery stands.
type DeliveryState string

// Delivery states. Pending deliveries are (re)tried at NextAttempt;
// delivered and dead ones are history.
const (
	DeliveryPending   DeliveryState = "pending"
	DeliveryDelivered DeliveryState = "delivered"
	// DeliveryDead is the dead-letter state: retries ran out (or the
	// receiver answered 410 Gone) and nothing more is tried.
	DeliveryDead DeliveryState = "dead"
)

// Delivery is one webhook event and its delivery history. It lives in its
// job's record, so it is written in the same atomic step as the status
// change that caused it, survives restarts with the job, and goes when the
// job's retention ends.
type Delivery struct {
	// ID is the event id (evt_…), sent as the webhook-id header: retries of
	// one event carry the same id, so receivers can deduplicate.
	ID string `json:"id"`
	// Event is the event type, such as job.succeeded.
	Event string        `json:"event"`
	State DeliveryState `json:"state"`
	// Payload is the exact body sent, fixed when the event happened.
	Payload   json.RawMessage `json:"payload"`
	CreatedAt time.Time       `json:"created_at"`
	// NextAttempt is when a pending delivery is due; a sender that claims
	// it moves it forward by its claim time, so others skip it meanwhile.
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	// Claim identifies the sender holding the current attempt; only it may
	// record the outcome.
	Claim    string            `json:"claim,omitempty"`
	Attempts []DeliveryAttempt `json:"attempts,omitempty"`
}

// DeliveryAttempt is one try at delivering an event.
type DeliveryAttempt struct {
	At time.Time `json:"at"`
	// StatusCode is the receiver's HTTP status, 0 when none came.
	StatusCode int `json:"status_code,omitempty"`
	// Error says why the attempt failed; empty on success.
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration"`
}

// EventPayload is the JSON body of a webhook: the event, and the job as GET
// /api/v1/jobs/{id} shows it at the moment of the event.
type EventPayload struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Data      any       `json:"data"`
}

// NextDelivery is the delivery to try next: the oldest pending one, because
// a job's events go out in the order they happened. It is nil when none is
// pending.
func (j *Job) NextDelivery() *Delivery {
	for i := range j.Webhooks {
		if j.Webhooks[i].State == DeliveryPending {
			return &j.Webhooks[i]
		}
	}
	return nil
}

// WebhookDue is when NextDelivery is due, or the zero time when no delivery
// is pending: the stores index jobs by it.
func (j *Job) WebhookDue() time.Time {
	if d := j.NextDelivery(); d != nil {
		return d.NextAttempt
	}
	return time.Time{}
}

// wants reports whether the job's webhook subscribed to event.
func (w *Webhook) wants(event string) bool {
	if len(w.Events) == 0 {
		return slices.Contains(DefaultEvents, event)
	}
	return slices.Contains(w.Events, event)
}

// RecordEvents adds to next the webhook deliveries its change from prev
// implies: the terminal event when it just finished, and a progress event
// when pages advanced and the webhook asked for them. The stores call it
// inside Update, so an event is recorded exactly when its status change is
// written, whichever process made the change.
//
// A progress event that has not been attempted yet is replaced by the newer
// one rather than queued behind it: a receiver wants the latest progress,
// not every page.
func RecordEvents(prev, next *Job, now time.Time) {
	w := next.Options.Webhook
	if w == nil {
		return
	}
	switch {
	case next.Status.Terminal() && !prev.Status.Terminal():
		event := map[Status]string{StatusSucceeded: EventSucceeded, StatusFailed: EventFailed, StatusCanceled: EventCanceled}[next.Status]
		if w.wants(event) {
			next.addDelivery(event, now)
		}
	case next.Status == StatusRunning && next.Progress.PagesDone != prev.Progress.PagesDone && w.wants(EventProgress):
		if n := len(next.Webhooks); n > 0 {
			last := &next.Webhooks[n-1]
			if last.Event == EventProgress && last.State == DeliveryPending && len(last.Attempts) == 0 && last.Claim == "" {
				next.Webhooks = next.Webhooks[:n-1]
			}
		}
		if len(next.Webhooks) < MaxDeliveries-1 { // room is kept for the terminal event
			next.addDelivery(EventProgress, now)
		}
	}
}

func (j *Job) addDelivery(event string, now time.Time) {
	id := "evt_" + rand.Text()
	body, _ := json.Marshal(EventPayload{ID: id, Type: event, CreatedAt: now.UTC(), Data: j.View()})
	if n := len(j.Webhooks); n >= MaxDeliveries {
		// Only a terminal event gets here; make room by dropping the
		// oldest progress event.
		if i := slices.IndexFunc(j.Webhooks, func(d Delivery) bool { return d.Event == EventProgress }); i >= 0 {
			j.Webhooks = slices.Delete(j.Webhooks, i, i+1)
		}
	}
	j.Webhooks = append(j.Webhooks, Delivery{ID: id, Event: event, State: DeliveryPending, Payload: body, CreatedAt: now.UTC(), NextAttempt: now.UTC()})
}

func cloneDeliveries(ds []Delivery) []Delivery {
	if ds == nil {
		return nil
	}
	out := make([]Delivery, len(ds))
	for i, d := range ds {
		d.Attempts = slices.Clone(d.Attempts)
		d.Payload = slices.Clone(d.Payload)
		out[i] = d
	}
	return out
}

// WebhookKey is the HMAC key a webhook secret stands for: the base64 bytes
// after "whsec_" (the Standard Webhooks form), or the string's own bytes.
func WebhookKey(secret string) ([]byte, error) {
	if b64, ok := strings.CutPrefix(secret, "whsec_"); ok {
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, errors.New("a whsec_ secret must be base64 after its prefix")
		}
		if len(key) < 16 || len(key) > 64 {
			return nil, errors.New("a whsec_ secret must hold 16 to 64 bytes")
		}
		return key, nil
	}
	if len(secret) < 16 || len(secret) > 256 {
		return nil, errors.New("must be 16 to 256 bytes, or whsec_ and base64")
	}
	return []byte(secret), nil
}
