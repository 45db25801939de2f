// Package extract detects what a document is and pulls its text out, and
// turns pages into pixels for OCR.
//
// The edge uses Detect and PDFEngine.Inspect on the submit path to refuse
// unsupported, corrupt and password-protected files before a job exists; the
// worker uses PDFEngine.ExtractPDF and ExtractText to build the canonical
// scheduler.Document that every output format is rendered from.
//
// For OCR, InspectImage checks an uploaded image from its headers alone,
// DecodeImagePages decodes its pages upright (EXIF and TIFF orientation
// applied), PDFEngine.RenderPDF rasterises PDF pages, and
// PDFEngine.TextLayers with NeedsOCR decides which PDF pages need OCR at all.
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
	// ErrImageTooLarge: an image, or a PDF page rendered at the lowest
	// usable resolution, has more pixels than ImageLimits.MaxPixels. It is
	// decided from headers alone, before any pixel buffer is allocated.
	ErrImageTooLarge = errors.New("image is too large")
	// ErrTooManyPages: a multi-page image has more pages than
	// ImageLimits.MaxPages.
	ErrTooManyPages = errors.New("image has too many pages")
	// ErrUnsupportedImage: the bytes are not an image format this package
	// decodes, or use a variant of one that it does not (BigTIFF, say).
	ErrUnsupportedImage = errors.New("unsupported image format")
)

// BackendName and BackendVersion identify this extractor in results and in
// worker registrations. Raise the version's major or minor number whenever
// the layout rules change what ExtractPDF returns; the build metadata names
// the go-pdfium release (and so the PDFium build) in go.mod.
const (
	BackendName    = "text-layer"
	BackendVersion = "1.0.0+go-pdfium.1.21.4"
)
