// Package api holds the public wire contract of /api/v1: the error envelope,
// the error codes and the JSON shapes of jobs. The edge's modules write it
// and the Go client reads it.
package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Error codes of DESIGN §2. Clients switch on these, so they never change
// meaning.
const (
	CodeInvalidRequest        = "INVALID_REQUEST"
	CodeUnauthenticated       = "UNAUTHENTICATED"
	CodeForbidden             = "FORBIDDEN"
	CodeNotFound              = "NOT_FOUND"
	CodeMethodNotAllowed      = "METHOD_NOT_ALLOWED"
	CodeJobNotFound           = "JOB_NOT_FOUND"
	CodeJobNotFinished        = "JOB_NOT_FINISHED"
	CodeJobFinished           = "JOB_ALREADY_FINISHED"
	CodeResultExpired         = "RESULT_EXPIRED"
	CodeFileTooLarge          = "FILE_TOO_LARGE"
	CodeTooManyPages          = "TOO_MANY_PAGES"
	CodeUnsupportedMediaType  = "UNSUPPORTED_MEDIA_TYPE"
	CodeUnprocessableDocument = "UNPROCESSABLE_DOCUMENT"
	CodeRateLimitExceeded     = "RATE_LIMIT_EXCEEDED"
	CodeQuotaExceeded         = "QUOTA_EXCEEDED"
	CodeURLNotAllowed         = "URL_NOT_ALLOWED"
	CodeURLFetchFailed        = "URL_FETCH_FAILED"
	CodeInternal              = "INTERNAL_ERROR"
	CodeProcessingError       = "PROCESSING_ERROR"
	CodeOCRFailed             = "OCR_FAILED"
	CodeWorkerTimeout         = "WORKER_TIMEOUT"
	CodeBackendUnavailable    = "BACKEND_UNAVAILABLE"
	CodeDependencyUnavailable = "DEPENDENCY_UNAVAILABLE"
	CodeCanceled              = "CANCELED"
	CodeIdempotencyKeyReused  = "IDEMPOTENCY_KEY_REUSED"
	CodeBatchNotFound         = "BATCH_NOT_FOUND"
	CodeBatchTooLarge         = "BATCH_TOO_LARGE"
	// CodeJobNotDeadLettered: the admin API's redrive of a job that is not
	// on the dead-letter list.
	CodeJobNotDeadLettered = "JOB_NOT_DEAD_LETTERED"
	// Resumable uploads (tus).
	CodeUploadNotFound       = "UPLOAD_NOT_FOUND"
	CodeUploadExpired        = "UPLOAD_EXPIRED"
	CodeUploadNotFinished    = "UPLOAD_NOT_FINISHED"
	CodeUploadOffsetMismatch = "UPLOAD_OFFSET_MISMATCH"
	CodeUploadLocked         = "UPLOAD_LOCKED"
	CodeTusVersion           = "TUS_VERSION_UNSUPPORTED"
	CodeChecksumMismatch     = "CHECKSUM_MISMATCH"
)

// Error is an API failure: the HTTP status and the code travel together, so
// a handler cannot pair a code with the wrong status.
type Error struct {
	Status  int            `json:"-"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
	// RetryAfter, in seconds, becomes the Retry-After header when positive.
	RetryAfter int64 `json:"-"`
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Errorf builds an Error.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// With returns e with one more detail.
func (e *Error) With(key string, value any) *Error {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	e.Details[key] = value
	return e
}

// Envelope is the body of every non-2xx answer.
type Envelope struct {
	Error     *Error    `json:"error"`
	RequestID string    `json:"request_id"`
	Timestamp time.Time `json:"timestamp"`
}

// HeaderRequestID carries the request id on requests and responses.
const HeaderRequestID = "X-Request-ID"

// WriteError writes e in the envelope. The request id is read back from the
// response header, where the requestid module put it before any handler ran.
func WriteError(w http.ResponseWriter, e *Error) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(e.RetryAfter, 10))
	}
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(Envelope{
		Error:     e,
		RequestID: h.Get(HeaderRequestID),
		Timestamp: time.Now().UTC().Truncate(time.Millisecond),
	})
}

// StatusCode maps a status to the generic code used when only the status is
// known, as with Caddy's own errors.
func StatusCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return CodeInvalidRequest
	case http.StatusUnauthorized:
		return CodeUnauthenticated
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusMethodNotAllowed:
		return CodeMethodNotAllowed
	case http.StatusRequestEntityTooLarge:
		return CodeFileTooLarge
	case http.StatusUnsupportedMediaType:
		return CodeUnsupportedMediaType
	case http.StatusTooManyRequests:
		return CodeRateLimitExceeded
	case http.StatusBadGateway, http.StatusServiceUnavailable:
		return CodeDependencyUnavailable
	case http.StatusGatewayTimeout:
		return CodeWorkerTimeout
	}
	if status >= 500 {
		return CodeInternal
	}
	return CodeInvalidRequest
}
