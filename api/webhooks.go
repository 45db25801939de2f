package api

import "time"

// WebhookDeliveries is GET /api/v1/jobs/{id}/webhooks: the job's webhook
// events and every attempt to deliver them, oldest first.
type WebhookDeliveries struct {
	JobID string `json:"job_id"`
	// URL is the receiver, with any password redacted; empty when the job
	// has no webhook.
	URL string `json:"url,omitempty"`
	// Events are the events the webhook subscribed to.
	Events     []string          `json:"events,omitempty"`
	Deliveries []WebhookDelivery `json:"deliveries"`
}

// WebhookDelivery is one event. State is pending (it will be tried at
// NextAttemptAt), delivered, or dead: retries ran out, or the receiver
// answered 410.
type WebhookDelivery struct {
	// ID is the event id, sent as the webhook-id header; it stays the same
	// across retries.
	ID            string           `json:"id"`
	Event         string           `json:"event"`
	State         string           `json:"state"`
	CreatedAt     time.Time        `json:"created_at"`
	NextAttemptAt time.Time        `json:"next_attempt_at,omitzero"`
	Attempts      []WebhookAttempt `json:"attempts"`
}

// WebhookAttempt is one try.
type WebhookAttempt struct {
	At time.Time `json:"at"`
	// StatusCode is the receiver's answer, absent when none came.
	StatusCode int    `json:"status_code,omitempty"`
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}
