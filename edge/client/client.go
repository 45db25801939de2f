// Package client is the Go SDK of the DocStrange Mesh API (/api/v1): submit
// a document (multipart, by URL, or from a resumable tus upload), follow its
// job by long polling or Server-Sent Events, fetch its result, cancel it and
// list jobs. Every method takes a context first and returns API failures as
// *Error, which unwraps to the *api.Error of the wire contract, so callers
// switch on its Code.
//
// Calls that are safe to repeat (GET, HEAD, DELETE, and submissions, which
// always carry an Idempotency-Key) are retried after network errors; every
// call whose body can be sent again is retried after 429 and 503 answers,
// waiting what Retry-After says. Retries are bounded by WithRetry.
//
// Resumable uploads speak tus 1.0.0 through a small client of our own;
// tus.go says why no library.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults of a Client.
const (
	// DefaultUserAgent is sent unless WithUserAgent says otherwise.
	DefaultUserAgent = "docstrange-go-client/1"
	// DefaultMaxAttempts bounds the tries of one call, the first included.
	DefaultMaxAttempts = 4
	// DefaultMaxRetryWait is the longest a Retry-After is waited out; an
	// answer asking for longer (a spent daily quota, say) is returned.
	DefaultMaxRetryWait = 30 * time.Second
	// DefaultPollWait is the ?wait= of each long poll in Wait.
	DefaultPollWait = 30 * time.Second
)

// apiPrefix is where the API lives under the base URL.
const apiPrefix = "api/v1"

// Client calls one DocStrange Mesh edge. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	http      *http.Client
	apiKey    string
	userAgent string
	retry     retryPolicy
	pollWait  time.Duration
}

// Option configures a Client in New.
type Option func(*Client)

// WithAPIKey authenticates every request with the key as a bearer token
// (dsk_…). Without one the caller is anonymous, on the free tier.
func WithAPIKey(key string) Option {
	return func(c *Client) { c.apiKey = key }
}

// WithHTTPClient replaces the HTTP client. Its Timeout, if any, must allow
// for long polls (WithPollWait) and event streams; contexts bound calls
// better.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithUserAgent sets the User-Agent header. Default: DefaultUserAgent.
func WithUserAgent(ua string) Option {
	return func(c *Client) {
		if ua != "" {
			c.userAgent = ua
		}
	}
}

// WithRetry bounds retries: maxAttempts tries per call in all (1 turns
// retries off), and maxWait the longest Retry-After waited out. Zero keeps
// a default.
func WithRetry(maxAttempts int, maxWait time.Duration) Option {
	return func(c *Client) {
		if maxAttempts > 0 {
			c.retry.maxAttempts = maxAttempts
		}
		if maxWait > 0 {
			c.retry.maxWait = maxWait
		}
	}
}

// WithPollWait sets the ?wait= of each long poll in Wait. The edge caps it
// (60 s by default). Default: DefaultPollWait.
func WithPollWait(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.pollWait = d
		}
	}
}

// New returns a client of the edge at baseURL (for example
// http://127.0.0.1:8080); the API is under its /api/v1.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, fmt.Errorf("parsing base URL %q: %w", baseURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("parsing base URL %q: %w", baseURL, ErrBadBaseURL)
	}
	u.RawQuery, u.Fragment = "", ""
	c := &Client{
		base:      u,
		http:      &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
		userAgent: DefaultUserAgent,
		retry:     retryPolicy{maxAttempts: DefaultMaxAttempts, maxWait: DefaultMaxRetryWait, backoff: 500 * time.Millisecond},
		pollWait:  DefaultPollWait,
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL is the edge's URL the client was made with.
func (c *Client) BaseURL() string { return c.base.String() }

// endpoint is the absolute URL of an API path such as "jobs/job_1".
func (c *Client) endpoint(path string, query url.Values) string {
	u := c.base.JoinPath(apiPrefix, path)
	if strings.HasSuffix(path, "/") && !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	return u.String()
}

// resolve makes a URL the edge answered with (a Location, say) absolute.
func (c *Client) resolve(ref string) (string, error) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("parsing URL %q: %w", ref, err)
	}
	return c.base.ResolveReference(u).String(), nil
}

// request describes one API call; body, when set, makes a fresh body for
// every attempt.
type request struct {
	method string
	url    string
	header http.Header
	body   func() (io.Reader, int64, error)
	// once marks a body that cannot be made again: no retries.
	once bool
	// idempotent allows retries after network errors.
	idempotent bool
}

// newHTTPRequest builds one attempt of r with the client's headers.
func (c *Client) newHTTPRequest(ctx context.Context, r *request) (*http.Request, error) {
	var body io.Reader
	length := int64(0)
	if r.body != nil {
		var err error
		if body, length, err = r.body(); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return nil, fmt.Errorf("building %s %s: %w", r.method, r.url, err)
	}
	if body != nil {
		// -1 is unknown: the body goes chunked.
		req.ContentLength = length
		if length == 0 {
			req.Body = http.NoBody
		}
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", c.userAgent)
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	return req, nil
}

// do runs r with retries and returns a 2xx response, whose body the caller
// closes; any other answer becomes an *Error.
func (c *Client) do(ctx context.Context, r *request) (*http.Response, error) {
	for attempt := 1; ; attempt++ {
		req, err := c.newHTTPRequest(ctx, r)
		if err != nil {
			return nil, err
		}
		resp, err := c.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s %s: %w", r.method, req.URL.Path, ctx.Err())
			}
			err = fmt.Errorf("%s %s: %w", r.method, req.URL.Path, err)
			if r.once || !r.idempotent || attempt >= c.retry.maxAttempts {
				return nil, err
			}
			if werr := sleep(ctx, c.retry.backoffFor(attempt)); werr != nil {
				return nil, errors.Join(err, werr)
			}
			continue
		}
		if resp.StatusCode < 300 {
			return resp, nil
		}
		apiErr := readError(resp, r.method, req.URL.Path)
		wait, retry := c.retry.after(apiErr, attempt)
		if !retry || r.once {
			return nil, apiErr
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, errors.Join(apiErr, err)
		}
	}
}

// doJSON runs r and decodes a 2xx answer into out.
func (c *Client) doJSON(ctx context.Context, r *request, out any) (*http.Response, error) {
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return nil, fmt.Errorf("decoding the answer to %s %s: %w", r.method, resp.Request.URL.Path, err)
	}
	return resp, nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
