package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/docstrange/mesh/api"
)

// Sentinel errors.
var (
	// ErrBadBaseURL is a base URL that is not absolute http or https.
	ErrBadBaseURL = errors.New("the base URL must be absolute http:// or https://")
	// ErrProtocol is an answer that breaks the API's or tus' contract.
	ErrProtocol = errors.New("unexpected answer from the edge")
	// ErrUploadMismatch is a resumed upload whose length is not the
	// length of the data given to resume it.
	ErrUploadMismatch = errors.New("the upload's length differs from the data's")
)

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// Error is a non-2xx answer of the API: the envelope's error with the
// HTTP status filled in, plus what the envelope and headers say around it.
// errors.As(err, new(*api.Error)) reaches the wire error too.
type Error struct {
	// API is the envelope's error; Status is the HTTP status and
	// RetryAfter the Retry-After header in seconds.
	API *api.Error
	// RequestID is the envelope's request_id, or the X-Request-ID header:
	// quote it when reporting a problem.
	RequestID string
	// Timestamp is the envelope's timestamp.
	Timestamp time.Time
	// Method and Path are the request's.
	Method, Path string
}

// Error says what failed, with the request id.
func (e *Error) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.API.Status, e.API.Code, e.API.Message)
	if e.RequestID != "" {
		msg += " (request " + e.RequestID + ")"
	}
	return msg
}

// Unwrap returns the wire error.
func (e *Error) Unwrap() error { return e.API }

// Code is the error code, such as api.CodeJobNotFound.
func (e *Error) Code() string { return e.API.Code }

// Status is the HTTP status.
func (e *Error) Status() int { return e.API.Status }

// RetryAfter is what the Retry-After header asked for; zero when absent.
func (e *Error) RetryAfter() time.Duration { return time.Duration(e.API.RetryAfter) * time.Second }

// Code returns the API error code in err's chain, or "" when err is not an
// API error (a network failure, say).
func Code(err error) string {
	var e *api.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// IsCode reports whether err is an API error with one of the codes.
func IsCode(err error, codes ...string) bool {
	c := Code(err)
	for _, want := range codes {
		if c != "" && c == want {
			return true
		}
	}
	return false
}

// readError turns a non-2xx answer into an *Error and closes its body.
// An answer without the envelope (a proxy's page, say) still becomes one,
// with the generic code of its status and the start of its body as the
// message.
func readError(resp *http.Response, method, path string) *Error {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &Error{Method: method, Path: path, RequestID: resp.Header.Get(api.HeaderRequestID)}
	var env api.Envelope
	if json.Unmarshal(body, &env) == nil && env.Error != nil && env.Error.Code != "" {
		e.API = env.Error
		if env.RequestID != "" {
			e.RequestID = env.RequestID
		}
		e.Timestamp = env.Timestamp
	} else {
		msg := strings.TrimSpace(string(bytes.ToValidUTF8(body, nil)))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
		e.API = &api.Error{Code: api.StatusCode(resp.StatusCode), Message: msg}
	}
	e.API.Status = resp.StatusCode
	e.API.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return e
}

// parseRetryAfter reads Retry-After as seconds or as an HTTP date,
// rounding up; 0 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) int64 {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		return max(secs, 0)
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d <= 0 {
			return 0
		}
		return int64((d + time.Second - 1) / time.Second)
	}
	return 0
}
