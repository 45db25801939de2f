package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/docstrange/mesh/api"
)

// maxErrorBody bounds how much of a non-2xx answer is read for its error
// code.
const maxErrorBody = 64 << 10

// outcome is one request's result as the load loop sees it.
type outcome struct {
	ok      bool
	status  int    // HTTP status when an answer came
	kind    string // error kind when !ok
	example string // one error message when !ok
	jobID   string // the accepted job of a submit
}

// apiClient sends the bench's requests over one shared transport, so that
// every client reuses its keep-alive connection instead of dialing.
type apiClient struct {
	cfg     *config
	http    *http.Client // bounded by -timeout
	poll    *http.Client // no client timeout: long-polls carry their own
	body    *multipartBody
	ping    string
	me      string
	submit  string
	metrics string
}

func newAPIClient(cfg *config, body *multipartBody) *apiClient {
	conns := max(cfg.clients, cfg.chainClients) + cfg.pollConcurrency
	tr := &http.Transport{
		Proxy: nil, // a bench must measure the edge, not a proxy from the environment
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          conns,
		MaxIdleConnsPerHost:   conns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
	return &apiClient{
		cfg:     cfg,
		http:    &http.Client{Transport: tr, Timeout: cfg.timeout},
		poll:    &http.Client{Transport: tr},
		body:    body,
		ping:    cfg.endpoint("/api/v1/ping"),
		me:      cfg.endpoint("/api/v1/me"),
		submit:  cfg.endpoint("/api/v1/documents"),
		metrics: cfg.endpoint("/metrics"),
	}
}

func (c *apiClient) close() {
	c.http.CloseIdleConnections()
}

func (c *apiClient) newRequest(ctx context.Context, method, url string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, fmt.Errorf("building %s %s: %w", method, url, err)
	}
	for _, kv := range c.cfg.headers {
		req.Header.Add(kv[0], kv[1])
	}
	return req, nil
}

// doPing is one baseline request.
func (c *apiClient) doPing(ctx context.Context) outcome {
	req, err := c.newRequest(ctx, http.MethodGet, c.ping, nil)
	if err != nil {
		return outcome{kind: "request", example: err.Error()}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return transportOutcome(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return statusOutcome(resp)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return transportOutcome(err)
	}
	return outcome{ok: true}
}

// doMe is one chain request: GET /api/v1/me passes request id, authn,
// authz and the rate limit and answers from the request's state. Any
// answer but 200 is an error.
func (c *apiClient) doMe(ctx context.Context) outcome {
	req, err := c.newRequest(ctx, http.MethodGet, c.me, nil)
	if err != nil {
		return outcome{kind: "request", example: err.Error()}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return transportOutcome(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return statusOutcome(resp)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return transportOutcome(err)
	}
	return outcome{ok: true}
}

// whoAmI asks GET /api/v1/me once before the chain phase, so that a
// missing or refused key stops the run before any load instead of filling
// a phase with 401s.
func (c *apiClient) whoAmI(ctx context.Context) (*chainIdentity, error) {
	req, err := c.newRequest(ctx, http.MethodGet, c.me, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("asking GET /api/v1/me: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		o := statusOutcome(resp)
		return nil, fmt.Errorf("GET /api/v1/me answered %s: %s", o.kind, o.example)
	}
	var me struct {
		Identity *chainIdentity `json:"identity"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxErrorBody)).Decode(&me); err != nil {
		return nil, fmt.Errorf("decoding GET /api/v1/me: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	if me.Identity == nil {
		return nil, errors.New("GET /api/v1/me answered without an identity")
	}
	if me.Identity.Kind == "anonymous" {
		return nil, fmt.Errorf("GET /api/v1/me took the bench for an anonymous caller (tier %q), whose rate limit the load would exhaust in a moment", me.Identity.Tier)
	}
	me.Identity.RateLimit = resp.Header.Get("RateLimit-Limit")
	return me.Identity, nil
}

// doSubmit is one document submit. Only a 2xx answer with a job id counts.
func (c *apiClient) doSubmit(ctx context.Context) outcome {
	req, err := c.newRequest(ctx, http.MethodPost, c.submit, bytes.NewReader(c.body.data))
	if err != nil {
		return outcome{kind: "request", example: err.Error()}
	}
	req.Header.Set("Content-Type", c.body.contentType)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return transportOutcome(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return statusOutcome(resp)
	}
	var accepted struct {
		JobID string `json:"job_id"`
		ID    string `json:"id"`
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return transportOutcome(err)
	}
	if err := json.Unmarshal(data, &accepted); err != nil {
		return outcome{kind: fmt.Sprintf("HTTP %d bad body", resp.StatusCode), example: err.Error()}
	}
	id := cmp.Or(accepted.JobID, accepted.ID)
	if id == "" {
		return outcome{kind: fmt.Sprintf("HTTP %d no job_id", resp.StatusCode), example: truncate(string(data), 200)}
	}
	return outcome{ok: true, jobID: id}
}

// getJob reads one job, long-polling up to wait when wait is positive.
func (c *apiClient) getJob(ctx context.Context, id string, wait time.Duration) (*api.Job, outcome) {
	u := c.cfg.endpoint("/api/v1/jobs/" + id)
	if wait > 0 {
		u += "?wait=" + wait.String()
	}
	ctx, cancel := context.WithTimeout(ctx, wait+c.cfg.timeout)
	defer cancel()
	req, err := c.newRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, outcome{kind: "request", example: err.Error()}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.poll.Do(req)
	if err != nil {
		return nil, transportOutcome(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, statusOutcome(resp)
	}
	var job api.Job
	if err := json.NewDecoder(resp.Body).Decode(&job); err != nil {
		return nil, outcome{kind: "HTTP 200 bad body", example: err.Error()}
	}
	io.Copy(io.Discard, resp.Body)
	return &job, outcome{ok: true}
}

// waitReady polls GET /api/v1/health/ready until it answers 200 or timeout
// passes; it tries once even when timeout is zero.
func (c *apiClient) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	u := c.cfg.endpoint("/api/v1/health/ready")
	for {
		last := c.readyOnce(ctx, u)
		if last == nil {
			return nil
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("waiting for %s: %w", u, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", u, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *apiClient) readyOnce(ctx context.Context, u string) error {
	req, err := c.newRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// statusOutcome names a non-2xx answer by its status and API error code,
// e.g. "HTTP 429 RATE_LIMIT_EXCEEDED".
func statusOutcome(resp *http.Response) outcome {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	io.Copy(io.Discard, resp.Body)
	kind := fmt.Sprintf("HTTP %d", resp.StatusCode)
	example := truncate(string(data), 200)
	var env api.Envelope
	if json.Unmarshal(data, &env) == nil && env.Error != nil && env.Error.Code != "" {
		kind += " " + env.Error.Code
		example = env.Error.Message
	}
	return outcome{status: resp.StatusCode, kind: kind, example: example}
}

// transportOutcome names a failure below HTTP by a small fixed set of kinds,
// so that messages with ports and addresses in them do not each become a
// kind of their own.
func transportOutcome(err error) outcome {
	return outcome{kind: "transport " + transportKind(err), example: err.Error()}
}

func transportKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no local ports"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too many open files"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	}
	return "other"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
