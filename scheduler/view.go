package scheduler

import "github.com/docstrange/mesh/api"

// View is the public view of j: the body of GET /api/v1/jobs/{id} and the
// data of its webhook events. Links are paths on the edge that served it.
func (j *Job) View() api.Job {
	self := "/api/v1/jobs/" + j.ID
	v := api.Job{
		ID:              j.ID,
		JobID:           j.ID,
		Status:          string(j.Status),
		Progress:        api.Progress{PagesTotal: j.Progress.PagesTotal, PagesDone: j.Progress.PagesDone},
		Attempts:        j.Attempts,
		Backend:         j.Backend,
		Device:          j.Device,
		Region:          j.Region,
		Filename:        j.Input.Filename,
		MediaType:       j.Input.MediaType,
		Size:            j.Input.Size,
		SHA256:          j.Input.SHA256,
		OutputFormats:   j.Options.OutputFormats,
		CancelRequested: j.CancelRequested && !j.Status.Terminal(),
		BatchID:         j.BatchID,
		CreatedAt:       j.CreatedAt,
		StartedAt:       j.StartedAt,
		FinishedAt:      j.FinishedAt,
		Links:           api.Links{Self: self, Result: self + "/result", Events: self + "/events"},
	}
	if j.Options.Webhook != nil {
		v.Links.Webhooks = self + "/webhooks"
	}
	if j.Status == StatusQueued {
		v.WaitingReason = j.Waiting
	}
	if !j.ResultExpired {
		v.ExpiresAt = j.ExpiresAt
	}
	if j.Error != nil && j.Status == StatusFailed {
		v.Error = &api.JobError{Code: j.Error.Code, Message: j.Error.Message}
	}
	return v
}
