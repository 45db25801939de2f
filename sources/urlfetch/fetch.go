package urlfetch

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync/atomic"
	"time"
)

// Result describes a fetched document.
type Result struct {
	// Bytes is how many bytes were written to the writer.
	Bytes int64
	// URL is the URL the document came from, after redirects, with any
	// password redacted.
	URL string
	// ContentType is the origin's Content-Type, unverified: sniff the bytes.
	ContentType string
}

// Fetcher fetches URL sources under one policy. It is safe for concurrent
// use.
type Fetcher struct {
	timeout      time.Duration
	maxBytes     int64
	maxRedirects int
	userAgent    string
	resolver     *net.Resolver
	lookupIP     func(ctx context.Context, host string) ([]netip.Addr, error)
	tlsConfig    *tls.Config
	policy       *policy
}

// New validates cfg and builds a Fetcher.
func New(cfg Config) (*Fetcher, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("configuring url fetcher: %w", err)
	}
	p, err := newPolicy(cfg.Allow, cfg.Deny)
	if err != nil {
		return nil, fmt.Errorf("configuring url fetcher: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tc = cfg.TLSConfig.Clone()
	}
	return &Fetcher{
		timeout:      cfg.Timeout,
		maxBytes:     cfg.MaxBytes,
		maxRedirects: cfg.MaxRedirects,
		userAgent:    cfg.UserAgent,
		resolver:     cfg.Resolver,
		lookupIP:     cfg.LookupIP,
		tlsConfig:    tc,
		policy:       p,
	}, nil
}

// Check validates a URL statically (scheme, credentials, numeric host
// forms, the lists) and resolves it, without fetching: a fast 400 at
// submission. It proves nothing about a later Fetch, which checks again at
// its dial, so DNS that changes in between gains nothing.
func (f *Fetcher) Check(ctx context.Context, raw string) error {
	t, err := f.checkRaw(raw)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, f.timeout, ErrTimeout)
	defer cancel()
	if _, err := f.resolve(ctx, t.host, false); err != nil {
		return f.fetchError(ctx, t.url.Redacted(), err)
	}
	return nil
}

// Fetch streams the document at raw to w, never holding it whole, and
// follows redirects, each checked like the URL itself. At most
// Config.MaxBytes bytes reach w; one byte more ends the fetch with
// ErrTooLarge.
func (f *Fetcher) Fetch(ctx context.Context, raw string, w io.Writer) (Result, error) {
	t, err := f.checkRaw(raw)
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, f.timeout, ErrTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url.String(), nil)
	if err != nil {
		return Result{}, fmt.Errorf("building request for %s: %w", t.url.Redacted(), err)
	}
	req.Header.Set("User-Agent", f.userAgent)
	req.Header.Set("Accept", "*/*")
	client, closeIdle := f.client()
	defer closeIdle()
	resp, err := client.Do(req)
	if err != nil {
		return Result{}, f.fetchError(ctx, t.url.Redacted(), err)
	}
	defer resp.Body.Close()
	res := Result{URL: resp.Request.URL.Redacted(), ContentType: resp.Header.Get("Content-Type")}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return res, &StatusError{URL: res.URL, StatusCode: resp.StatusCode}
	}
	if resp.ContentLength > f.maxBytes {
		return res, fmt.Errorf("fetching %s: %d bytes announced, limit %d: %w", res.URL, resp.ContentLength, f.maxBytes, ErrTooLarge)
	}
	res.Bytes, err = copyCapped(w, resp.Body, f.maxBytes)
	if err != nil {
		return res, f.fetchError(ctx, res.URL, err)
	}
	return res, nil
}

// client builds the HTTP client of one fetch. Its own transport means its
// dialer knows which hop it dials for, and keep-alives are off, so every
// request of the fetch dials (and checks) its own connection.
func (f *Fetcher) client() (*http.Client, func()) {
	d := &dialer{f: f, hops: new(atomic.Int32)}
	tr := &http.Transport{
		// Never a proxy from the environment: it would resolve and dial on
		// our behalf, past every check here.
		Proxy:       nil,
		DialContext: d.DialContext,
		// A copy per transport: HTTP/2 setup writes NextProtos into it, so
		// concurrent fetches sharing one would race.
		TLSClientConfig:        f.tlsConfig.Clone(),
		TLSHandshakeTimeout:    dialTimeout,
		DisableKeepAlives:      true,
		ForceAttemptHTTP2:      true,
		MaxResponseHeaderBytes: 1 << 20,
	}
	c := &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > f.maxRedirects {
				return &RefusedError{URL: req.URL.Redacted(), Reason: fmt.Sprintf("too many redirects (more than %d)", f.maxRedirects)}
			}
			if _, err := f.checkURL(req.URL, true); err != nil {
				return err
			}
			d.hops.Store(int32(len(via)))
			return nil
		},
	}
	return c, tr.CloseIdleConnections
}

// fetchError sorts a failure: a refusal comes back bare (with its URL), our
// own deadline becomes ErrTimeout, anything else is wrapped.
func (f *Fetcher) fetchError(ctx context.Context, u string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		u, err = ue.URL, ue.Err
	}
	var re *RefusedError
	if errors.As(err, &re) {
		if re.URL == "" {
			re.URL = u
		}
		return re
	}
	if ctx.Err() != nil && context.Cause(ctx) == ErrTimeout {
		return fmt.Errorf("fetching %s: %w after %s", u, ErrTimeout, f.timeout)
	}
	return fmt.Errorf("fetching %s: %w", u, err)
}

// copyCapped copies r to w, at most limit bytes. It reads at most one byte
// more, to tell a document of exactly limit bytes from a larger one, and
// never writes that byte.
func copyCapped(w io.Writer, r io.Reader, limit int64) (int64, error) {
	n, err := io.Copy(w, io.LimitReader(r, limit))
	if err != nil {
		return n, fmt.Errorf("copying the document: %w", err)
	}
	if n < limit {
		return n, nil
	}
	var one [1]byte
	switch m, err := io.ReadFull(r, one[:]); {
	case m > 0:
		return n, fmt.Errorf("copying the document: more than %d bytes: %w", limit, ErrTooLarge)
	case err == io.EOF:
		return n, nil
	default:
		return n, fmt.Errorf("copying the document: %w", err)
	}
}
