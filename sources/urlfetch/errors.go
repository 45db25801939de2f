package urlfetch

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
)

// Sentinels the caller maps to API errors; see the package doc.
var (
	// ErrRefused matches every *RefusedError.
	ErrRefused = errors.New("url refused")
	// ErrTooLarge means the document is larger than Config.MaxBytes.
	ErrTooLarge = errors.New("document larger than the size limit")
	// ErrTimeout means the fetch ran past Config.Timeout.
	ErrTimeout = errors.New("fetch timed out")
	// ErrStatus matches every *StatusError.
	ErrStatus = errors.New("origin answered with an error status")
)

// RefusedError is a URL the fetcher will not fetch: a scheme, a host or an
// address outside policy, on the submitted URL or on a redirect.
type RefusedError struct {
	// URL is the refused URL with any password redacted: the submitted one,
	// or the redirect target when a redirect was refused.
	URL string
	// Reason says why in words safe to show the client, such as "host is a
	// loopback address (127.0.0.1)" or "too many redirects (more than 5)".
	Reason string
	// Addr is the refused address, when an address was refused. It is for
	// logs: for a host name it tells what the name resolves to inside the
	// deployment, which Reason keeps to itself.
	Addr netip.Addr
}

// Error shows Addr too, for logs; show clients Reason only.
func (e *RefusedError) Error() string {
	if e.Addr.IsValid() {
		return fmt.Sprintf("refusing %s: %s [%s]", e.URL, e.Reason, e.Addr)
	}
	return fmt.Sprintf("refusing %s: %s", e.URL, e.Reason)
}

// Is makes errors.Is(err, ErrRefused) hold.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// StatusError is an origin's answer outside 2xx, after redirects.
type StatusError struct {
	// URL is the URL that answered, with any password redacted.
	URL string
	// StatusCode is the origin's status.
	StatusCode int
}

// Error implements error.
func (e *StatusError) Error() string {
	return fmt.Sprintf("fetching %s: origin answered %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
}

// Is makes errors.Is(err, ErrStatus) hold.
func (e *StatusError) Is(target error) bool { return target == ErrStatus }
