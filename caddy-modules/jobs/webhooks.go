package jobs

import (
	"net/http"
	"net/url"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/scheduler"
)

// webhooks is GET /api/v1/jobs/{id}/webhooks: the delivery history, so a
// client can see why its receiver heard nothing.
func (h *Handler) webhooks(w http.ResponseWriter, r *http.Request) {
	j, apiErr := h.load(r, r.PathValue("id"))
	if apiErr != nil {
		api.WriteError(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, deliveriesView(j))
}

func deliveriesView(j *scheduler.Job) api.WebhookDeliveries {
	v := api.WebhookDeliveries{JobID: j.ID, Deliveries: []api.WebhookDelivery{}}
	if wh := j.Options.Webhook; wh != nil {
		v.URL = wh.URL
		if u, err := url.Parse(wh.URL); err == nil {
			v.URL = u.Redacted()
		}
		v.Events = wh.Events
		if len(v.Events) == 0 {
			v.Events = scheduler.DefaultEvents
		}
	}
	for _, d := range j.Webhooks {
		dv := api.WebhookDelivery{ID: d.ID, Event: d.Event, State: string(d.State), CreatedAt: d.CreatedAt, Attempts: []api.WebhookAttempt{}}
		if d.State == scheduler.DeliveryPending {
			dv.NextAttemptAt = d.NextAttempt
		}
		for _, a := range d.Attempts {
			dv.Attempts = append(dv.Attempts, api.WebhookAttempt{At: a.At, StatusCode: a.StatusCode, Error: a.Error, DurationMS: a.Duration.Milliseconds()})
		}
		v.Deliveries = append(v.Deliveries, dv)
	}
	return v
}
