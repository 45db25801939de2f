package storetest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/docstrange/mesh/scheduler"
)

var webhookCases = []testCase{
	{"TerminalEventRecordedOnce", testWebhookTerminal},
	{"DueIndexFollowsDeliveries", testWebhookDue},
	{"NoWebhookNoEvents", testWebhookNone},
	{"DeleteDropsDue", testWebhookDelete},
	{"ReopenKeepsDeliveries", testWebhookReopen},
}

// webhookJob is a queued job with a webhook that also wants progress.
func webhookJob(tenant string, events ...string) *scheduler.Job {
	j := newJob(tenant)
	j.Options.Webhook = &scheduler.Webhook{URL: "https://hooks.example.com/x", Events: events}
	return j
}

func dueIDs(t *testing.T, s scheduler.Store, at time.Time) []string {
	t.Helper()
	ids, err := s.WebhooksDue(t.Context(), at, 100)
	requireNoErr(t, err, "WebhooksDue")
	return ids
}

// testWebhookTerminal: finishing a job records its terminal event in the
// same Update, once, with the job's public view as the payload; updating a
// finished job again adds nothing.
func testWebhookTerminal(t *testing.T, h *harness) {
	b := h.open(t)
	tests := []struct {
		name   string
		status scheduler.Status
		event  string
	}{
		{"succeeded", scheduler.StatusSucceeded, scheduler.EventSucceeded},
		{"failed", scheduler.StatusFailed, scheduler.EventFailed},
		{"canceled", scheduler.StatusCanceled, scheduler.EventCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := mustCreate(t, b, webhookJob(newTenant()))
			if slices.Contains(dueIDs(t, b, now().Add(time.Hour)), j.ID) {
				t.Fatal("a queued job has a due webhook")
			}
			got := finishJob(t, b, j.ID, tt.status, time.Time{})
			if len(got.Webhooks) != 1 {
				t.Fatalf("after %s: %d deliveries, want 1", tt.status, len(got.Webhooks))
			}
			d := got.Webhooks[0]
			if d.Event != tt.event || d.State != scheduler.DeliveryPending || d.ID == "" {
				t.Fatalf("delivery = %+v; want a pending %s", d, tt.event)
			}
			var p scheduler.EventPayload
			if err := json.Unmarshal(d.Payload, &p); err != nil {
				t.Fatalf("payload %s: %v", d.Payload, err)
			}
			data, _ := p.Data.(map[string]any)
			if p.ID != d.ID || p.Type != tt.event || data["id"] != j.ID || data["status"] != string(tt.status) {
				t.Fatalf("payload = %s", d.Payload)
			}
			again, err := b.Update(t.Context(), j.ID, func(j *scheduler.Job) error { j.ResultExpired = true; return nil })
			requireNoErr(t, err, "Update finished job")
			if len(again.Webhooks) != 1 {
				t.Fatalf("a second update of a finished job made %d deliveries", len(again.Webhooks))
			}
			stored, err := b.Get(t.Context(), j.ID)
			requireNoErr(t, err, "Get")
			if len(stored.Webhooks) != 1 || stored.Webhooks[0].ID != d.ID || string(stored.Webhooks[0].Payload) != string(d.Payload) {
				t.Fatalf("stored deliveries = %+v", stored.Webhooks)
			}
		})
	}
}

// testWebhookDue: WebhooksDue names a job while its oldest pending
// delivery is due, follows NextAttempt, and drops the job once nothing is
// pending.
func testWebhookDue(t *testing.T, h *harness) {
	b := h.open(t)
	j := mustCreate(t, b, webhookJob(newTenant(), scheduler.EventProgress, scheduler.EventSucceeded))
	_, err := b.Update(t.Context(), j.ID, func(j *scheduler.Job) error {
		j.Status = scheduler.StatusRunning
		j.Progress = scheduler.Progress{PagesTotal: 3, PagesDone: 1}
		return nil
	})
	requireNoErr(t, err, "Update to running")
	got, err := b.Update(t.Context(), j.ID, func(j *scheduler.Job) error { j.Progress.PagesDone = 2; return nil })
	requireNoErr(t, err, "Update progress")
	if len(got.Webhooks) != 1 || got.Webhooks[0].Event != scheduler.EventProgress {
		t.Fatalf("after two progress updates: %+v; want one coalesced progress event", got.Webhooks)
	}
	if !slices.Contains(dueIDs(t, b, now().Add(time.Second)), j.ID) {
		t.Fatal("WebhooksDue misses a job with a pending delivery")
	}
	later := now().Add(time.Hour)
	_, err = b.Update(t.Context(), j.ID, func(j *scheduler.Job) error {
		j.Webhooks[0].NextAttempt = later
		j.Webhooks[0].Attempts = append(j.Webhooks[0].Attempts, scheduler.DeliveryAttempt{At: now(), StatusCode: 500, Error: "x"})
		return nil
	})
	requireNoErr(t, err, "Update NextAttempt")
	if slices.Contains(dueIDs(t, b, now().Add(time.Minute)), j.ID) {
		t.Fatal("WebhooksDue names a job whose delivery waits for its retry")
	}
	if !slices.Contains(dueIDs(t, b, later), j.ID) {
		t.Fatal("WebhooksDue misses the job once its retry is due")
	}
	got = finishJob(t, b, j.ID, scheduler.StatusSucceeded, time.Time{})
	if len(got.Webhooks) != 2 || got.Webhooks[1].Event != scheduler.EventSucceeded {
		t.Fatalf("after finishing: %+v", got.Webhooks)
	}
	_, err = b.Update(t.Context(), j.ID, func(j *scheduler.Job) error {
		for i := range j.Webhooks {
			j.Webhooks[i].State = scheduler.DeliveryDelivered
		}
		return nil
	})
	requireNoErr(t, err, "Update delivered")
	if slices.Contains(dueIDs(t, b, later.Add(time.Hour)), j.ID) {
		t.Fatal("WebhooksDue names a job with nothing pending")
	}
}

func testWebhookNone(t *testing.T, h *harness) {
	b := h.open(t)
	j := newJob(newTenant())
	j.Options.Webhook = nil
	mustCreate(t, b, j)
	got := finishJob(t, b, j.ID, scheduler.StatusSucceeded, time.Time{})
	if len(got.Webhooks) != 0 || slices.Contains(dueIDs(t, b, now().Add(time.Hour)), j.ID) {
		t.Fatalf("a job without a webhook recorded %+v", got.Webhooks)
	}
}

func testWebhookDelete(t *testing.T, h *harness) {
	b := h.open(t)
	j := mustCreate(t, b, webhookJob(newTenant()))
	finishJob(t, b, j.ID, scheduler.StatusFailed, time.Time{})
	requireNoErr(t, b.Delete(t.Context(), j.ID), "Delete")
	if slices.Contains(dueIDs(t, b, now().Add(time.Hour)), j.ID) {
		t.Fatal("WebhooksDue names a deleted job")
	}
}

// testWebhookReopen: a pending delivery is still pending and due after a
// restart, so a sender that died before delivering it delivers it later.
func testWebhookReopen(t *testing.T, h *harness) {
	if h.reopen == nil {
		t.Skip("storetest: no WithReopen hook; persistence is untested for this backend")
	}
	b := h.open(t)
	j := mustCreate(t, b, webhookJob(newTenant()))
	before := finishJob(t, b, j.ID, scheduler.StatusSucceeded, time.Time{})
	b = h.reopen(t, b)
	after, err := b.Get(t.Context(), j.ID)
	requireNoErr(t, err, "Get after reopen")
	if len(after.Webhooks) != 1 || after.Webhooks[0].ID != before.Webhooks[0].ID || after.Webhooks[0].State != scheduler.DeliveryPending {
		t.Fatalf("deliveries after reopen = %+v; want %+v", after.Webhooks, before.Webhooks)
	}
	if !slices.Contains(dueIDs(t, b, now().Add(time.Second)), j.ID) {
		t.Fatal("WebhooksDue misses the pending delivery after reopen")
	}
}
