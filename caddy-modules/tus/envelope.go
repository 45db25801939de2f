package tus

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/docstrange/mesh/api"
)

// envelopeWriter turns tusd's plain-text errors ("ERR_CODE: message") into
// the API's error shape, keeping tusd's code in details.tus_code, so a tus
// client sees the status it expects and everyone else sees the documented
// JSON. It also advertises the expiration and checksum extensions, which
// this handler adds to tusd's.
type envelopeWriter struct {
	http.ResponseWriter
	r      *http.Request
	status int
	body   bytes.Buffer
	done   bool
}

func (w *envelopeWriter) WriteHeader(status int) {
	if w.status != 0 {
		return
	}
	w.status = status
	h := w.Header()
	if ext := h.Get("Tus-Extension"); ext != "" && !strings.Contains(ext, "expiration") {
		h.Set("Tus-Extension", ext+",expiration,checksum")
		h.Set(headerChecksumAlgorithm, checksumAlgorithms)
	}
	// Our own errors are already enveloped; only tusd writes text/plain.
	if status < 400 || strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		w.done = true
		w.ResponseWriter.WriteHeader(status)
	}
}

func (w *envelopeWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.done {
		return w.ResponseWriter.Write(p)
	}
	// tusd's error bodies are one short line; bound it all the same.
	if w.body.Len() < 4096 {
		w.body.Write(p)
	}
	return len(p), nil
}

// Unwrap lets http.ResponseController reach the connection, which tusd
// uses for read deadlines while a PATCH streams.
func (w *envelopeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish writes a buffered tusd error as the envelope.
func (w *envelopeWriter) finish() {
	if w.done || w.status == 0 {
		return
	}
	w.done = true
	tusCode, msg, ok := strings.Cut(strings.TrimSpace(w.body.String()), ": ")
	if !ok {
		msg, tusCode = tusCode, ""
	}
	if msg == "" {
		msg = http.StatusText(w.status)
	}
	w.Header().Del("Content-Length")
	e := api.Errorf(w.status, codeFor(w.status, tusCode), "%s", msg)
	if strings.HasPrefix(tusCode, "ERR_") {
		e = e.With("tus_code", tusCode)
	}
	api.WriteError(w.ResponseWriter, e)
}

// codeFor maps a tusd error to the API's vocabulary.
func codeFor(status int, tusCode string) string {
	switch tusCode {
	case "ERR_MISMATCHED_OFFSET":
		return api.CodeUploadOffsetMismatch
	case "ERR_UPLOAD_LOCKED", "ERR_LOCK_TIMEOUT", "ERR_UPLOAD_INTERRUPTED":
		return api.CodeUploadLocked
	case "ERR_UPLOAD_NOT_FOUND":
		return api.CodeUploadNotFound
	case "ERR_UNSUPPORTED_VERSION":
		return api.CodeTusVersion
	case "ERR_MAX_SIZE_EXCEEDED", "ERR_UPLOAD_SIZE_EXCEEDED":
		return api.CodeFileTooLarge
	case "ERR_CHECKSUM_MISMATCH":
		return api.CodeChecksumMismatch
	}
	// An API error carried through tusd (a job refused on completion)
	// keeps its own code.
	if tusCode != "" && !strings.HasPrefix(tusCode, "ERR_") {
		return tusCode
	}
	return api.StatusCode(status)
}
