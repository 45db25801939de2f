package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/docstrange/mesh/api"
)

// Job statuses. A job ends in one of the last three.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusCanceled  = "canceled"
)

// Result formats.
const (
	FormatMarkdown = "markdown"
	FormatJSON     = "json"
	FormatText     = "text"
	FormatHTML     = "html"
)

// Terminal reports whether a job with this status has ended.
func Terminal(status string) bool {
	switch status {
	case StatusSucceeded, StatusFailed, StatusCanceled:
		return true
	}
	return false
}

// Webhook is notified of a job's events.
type Webhook struct {
	// URL receives the signed notification.
	URL string `json:"url"`
	// Secret signs it. Default: the tenant's webhook secret.
	Secret string `json:"secret,omitempty"`
	// Events are the events sent. Default: the edge's default set.
	Events []string `json:"events,omitempty"`
}

// Options are a job's processing choices; the edge validates them and
// names the field it refuses. The zero value takes every default.
type Options struct {
	// OutputFormats: markdown, json, text, html; the first is the default
	// of Result. Default: markdown.
	OutputFormats []string `json:"output_formats,omitempty"`
	// Pages is a 1-based range list such as "1-3,7". Default: all.
	Pages string `json:"pages,omitempty"`
	// OCR is auto, force or off. Default: auto.
	OCR string `json:"ocr,omitempty"`
	// Languages are ISO 639 codes that guide OCR. Default: none.
	Languages []string `json:"languages,omitempty"`
	// Device is auto, gpu or cpu. Default: auto.
	Device string `json:"device,omitempty"`
	// Webhook is notified when the job ends (api_key tier and up).
	// Default: none.
	Webhook *Webhook `json:"webhook,omitempty"`

	// IdempotencyKey is sent as Idempotency-Key. Default: a random key per
	// call, which makes that call's own retries safe; set one to make a
	// resubmission after a crash return the first job too.
	IdempotencyKey string `json:"-"`
}

// empty reports whether o sets no option.
func (o Options) empty() bool {
	return len(o.OutputFormats) == 0 && o.Pages == "" && o.OCR == "" && len(o.Languages) == 0 &&
		o.Device == "" && o.Webhook == nil
}

// Submit uploads a document in one multipart request and returns its job:
// accepted (202, status queued) or, when the edge deduplicates, an earlier
// job with Cached set. r is read from its current position to its end;
// when it is an io.Seeker (an *os.File, say) its length is sent up front
// and the call can be retried, otherwise it is sent once, chunked. Large
// documents on flaky networks go better through Upload and SubmitUpload.
func (c *Client) Submit(ctx context.Context, r io.Reader, filename string, opts Options) (*api.Job, error) {
	body, err := newMultipart(r, filename, opts)
	if err != nil {
		return nil, fmt.Errorf("submitting %s: %w", filename, err)
	}
	req := &request{
		method: http.MethodPost, url: c.endpoint("documents", nil),
		header: http.Header{"Content-Type": {body.contentType}},
		body:   body.open, once: !body.replayable, idempotent: true,
	}
	return c.submit(ctx, req, opts)
}

// SubmitURL has the edge fetch the document at u (api_key tier and up;
// private and loopback addresses are refused).
func (c *Client) SubmitURL(ctx context.Context, u string, opts Options) (*api.Job, error) {
	return c.submitSource(ctx, map[string]string{"url": u}, opts)
}

// SubmitUpload makes a job of a finished upload of the caller's, by its id
// (Upload.ID).
func (c *Client) SubmitUpload(ctx context.Context, uploadID string, opts Options) (*api.Job, error) {
	return c.submitSource(ctx, map[string]string{"upload_id": uploadID}, opts)
}

func (c *Client) submitSource(ctx context.Context, source map[string]string, opts Options) (*api.Job, error) {
	payload := struct {
		Source  map[string]string `json:"source"`
		Options *Options          `json:"options,omitempty"`
	}{Source: source}
	if !opts.empty() {
		payload.Options = &opts
	}
	body, err := jsonBody(payload)
	if err != nil {
		return nil, fmt.Errorf("encoding the submission: %w", err)
	}
	req := &request{
		method: http.MethodPost, url: c.endpoint("documents", nil),
		header: http.Header{"Content-Type": {"application/json"}},
		body:   body, idempotent: true,
	}
	return c.submit(ctx, req, opts)
}

// submit sends a submission with its Idempotency-Key: retried after a
// network error, the edge answers with the job the first try created.
func (c *Client) submit(ctx context.Context, req *request, opts Options) (*api.Job, error) {
	key := opts.IdempotencyKey
	if key == "" {
		key = newIdempotencyKey()
	}
	req.header.Set("Idempotency-Key", key)
	var j api.Job
	if _, err := c.doJSON(ctx, req, &j); err != nil {
		return nil, fmt.Errorf("submitting a document: %w", err)
	}
	return &j, nil
}

// Job returns the job's current state.
func (c *Client) Job(ctx context.Context, id string) (*api.Job, error) {
	return c.job(ctx, id, 0)
}

func (c *Client) job(ctx context.Context, id string, wait time.Duration) (*api.Job, error) {
	var q url.Values
	if wait > 0 {
		q = url.Values{"wait": {wait.String()}}
	}
	var j api.Job
	req := &request{method: http.MethodGet, url: c.endpoint("jobs/"+url.PathEscape(id), q), idempotent: true}
	if _, err := c.doJSON(ctx, req, &j); err != nil {
		return nil, fmt.Errorf("reading job %s: %w", id, err)
	}
	return &j, nil
}

// minPollInterval spaces long polls that came back at once with nothing
// new, as behind a proxy that ignores ?wait=.
const minPollInterval = time.Second

// Wait long-polls the job until it ends and returns its final state; a
// failed or canceled job is returned, not an error. It returns when ctx
// ends, with ctx's error.
func (c *Client) Wait(ctx context.Context, id string) (*api.Job, error) {
	last := ""
	for {
		start := time.Now()
		j, err := c.job(ctx, id, c.pollWait)
		if err != nil {
			return nil, err
		}
		if Terminal(j.Status) {
			return j, nil
		}
		if j.Status == last && time.Since(start) < minPollInterval {
			if err := sleep(ctx, minPollInterval); err != nil {
				return nil, fmt.Errorf("waiting for job %s: %w", id, err)
			}
		}
		last = j.Status
	}
}

// Result opens the job's result in format (FormatMarkdown, …; "" is the
// first of the job's output formats). Before the job succeeds the edge
// answers JOB_NOT_FINISHED (409); after the retention period,
// RESULT_EXPIRED (410). The caller closes the reader.
func (c *Client) Result(ctx context.Context, id, format string) (io.ReadCloser, error) {
	var q url.Values
	if format != "" {
		q = url.Values{"format": {format}}
	}
	req := &request{method: http.MethodGet, url: c.endpoint("jobs/"+url.PathEscape(id)+"/result", q), idempotent: true}
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("reading the result of job %s: %w", id, err)
	}
	return resp.Body, nil
}

// ResultBytes reads the whole result; see Result.
func (c *Client) ResultBytes(ctx context.Context, id, format string) ([]byte, error) {
	rc, err := c.Result(ctx, id, format)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("reading the result of job %s: %w", id, err)
	}
	return b, nil
}

// Cancel cancels the job. A queued job is canceled at once; a running one
// stops between pages, and the returned job may still be running with
// CancelRequested set. A finished job answers JOB_ALREADY_FINISHED (409).
func (c *Client) Cancel(ctx context.Context, id string) (*api.Job, error) {
	var j api.Job
	req := &request{method: http.MethodDelete, url: c.endpoint("jobs/"+url.PathEscape(id), nil), idempotent: true}
	if _, err := c.doJSON(ctx, req, &j); err != nil {
		return nil, fmt.Errorf("canceling job %s: %w", id, err)
	}
	return &j, nil
}

// ListOptions page through List.
type ListOptions struct {
	// Limit is the page size, 1 to 100. Default: the edge's (20).
	Limit int
	// Cursor is the previous page's NextCursor. Default: the first page.
	Cursor string
}

// List returns one page of the caller's jobs, newest first; NextCursor is
// empty on the last page.
func (c *Client) List(ctx context.Context, opts ListOptions) (*api.JobList, error) {
	q := url.Values{}
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.Cursor != "" {
		q.Set("cursor", opts.Cursor)
	}
	var l api.JobList
	req := &request{method: http.MethodGet, url: c.endpoint("jobs", q), idempotent: true}
	if _, err := c.doJSON(ctx, req, &l); err != nil {
		return nil, fmt.Errorf("listing jobs: %w", err)
	}
	return &l, nil
}
