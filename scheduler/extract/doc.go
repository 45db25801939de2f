// Package extract detects what a document is and pulls its text out.
//
// The edge uses Detect and PDFEngine.Inspect on the submit path to refuse
// unsupported, corrupt and password-protected files before a job exists; the
// worker uses PDFEngine.ExtractPDF and ExtractText to build the canonical
// scheduler.Document that every output format is rendered from.
//
// PDFs are read by PDFium compiled to WebAssembly and run by wazero, so a
// hostile PDF can at worst crash its own sandboxed instance, never the
// process, and no cgo or shared library is needed.
package extract

import "errors"

// Sentinel errors. Callers match them with errors.Is; the wrapped error keeps
// PDFium's own reason for logs.
var (
	// ErrCorrupt: the bytes claim to be a PDF but PDFium cannot parse them,
	// or the document has no pages.
	ErrCorrupt = errors.New("document is corrupt")
	// ErrEncrypted: the PDF needs a password to open.
	ErrEncrypted = errors.New("document is password-protected")
	// ErrClosed: the PDFEngine was closed.
	ErrClosed = errors.New("pdf engine closed")
)

// BackendName and BackendVersion identify this extractor in results and in
// worker registrations. Raise the version's major or minor number whenever
// the layout rules change what ExtractPDF returns; the build metadata names
// the go-pdfium release (and so the PDFium build) in go.mod.
const (
	BackendName    = "text-layer"
	BackendVersion = "1.0.0+go-pdfium.1.21.4"
)
