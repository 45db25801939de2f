package urlfetch

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
)

// maxPostReply bounds how much of a receiver's answer is read (and thrown
// away) so its connection closes cleanly.
const maxPostReply = 64 << 10

// Post sends body to raw under the same checks as Fetch: the address is
// resolved, judged and pinned at the dial, so a webhook cannot reach the
// loopback, private or metadata addresses an operator has not allowed. It
// follows no redirect: a receiver that moved answers 3xx, which is a failed
// delivery, because re-sending a signed body elsewhere is not ours to
// decide. It returns the receiver's status code.
func (f *Fetcher) Post(ctx context.Context, raw string, header http.Header, body []byte) (int, error) {
	t, err := f.checkRaw(raw)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, f.timeout, ErrTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url.String(), bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("building request for %s: %w", t.url.Redacted(), err)
	}
	req.Header = header.Clone()
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", f.userAgent)
	}
	client, closeIdle := f.client()
	defer closeIdle()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		return 0, f.fetchError(ctx, t.url.Redacted(), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxPostReply))
	return resp.StatusCode, nil
}
