package extract

import (
	"context"
	"fmt"

	"github.com/klippa-app/go-pdfium"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
)

// Info is what the submit path needs to know about a PDF.
type Info struct {
	// Pages is the page count, at least 1.
	Pages int `json:"pages"`
	// Encrypted reports a security handler. A PDF that needs a password
	// fails with ErrEncrypted instead, so this is only ever true for PDFs
	// that have an owner password (permissions) but open without a user
	// password.
	Encrypted bool `json:"encrypted"`
}

// Inspect opens the PDF at path and counts its pages without parsing any
// page. PDFium reads only what it needs (trailer, cross-reference table, page
// tree), so this stays fast for large files; it is meant for the submit
// path. It fails with ErrCorrupt or ErrEncrypted (wrapped) when the document
// cannot be read.
func (e *PDFEngine) Inspect(ctx context.Context, path string) (Info, error) {
	return e.inspect(ctx, source{path: path})
}

// InspectBytes is Inspect for a PDF held in memory.
func (e *PDFEngine) InspectBytes(ctx context.Context, data []byte) (Info, error) {
	return e.inspect(ctx, source{data: data})
}

func (e *PDFEngine) inspect(ctx context.Context, src source) (Info, error) {
	var info Info
	err := e.withDocument(ctx, src, func(inst pdfium.Pdfium, doc references.FPDF_DOCUMENT) error {
		n, err := pageCount(inst, doc)
		if err != nil {
			return err
		}
		info.Pages = n
		sec, err := inst.FPDF_GetSecurityHandlerRevision(&requests.FPDF_GetSecurityHandlerRevision{Document: doc})
		if err != nil {
			return fmt.Errorf("reading security handler: %w", err)
		}
		info.Encrypted = sec.SecurityHandlerRevision != -1
		return nil
	})
	if err != nil {
		return Info{}, fmt.Errorf("inspecting pdf: %w", err)
	}
	return info, nil
}

// pageCount returns the number of pages, refusing documents without any:
// PDFium rebuilds a damaged cross-reference table rather than failing, and an
// empty result is how truncation often shows.
func pageCount(inst pdfium.Pdfium, doc references.FPDF_DOCUMENT) (int, error) {
	res, err := inst.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: doc})
	if err != nil {
		return 0, fmt.Errorf("counting pages: %w", err)
	}
	if res.PageCount < 1 {
		return 0, fmt.Errorf("counting pages: no pages: %w", ErrCorrupt)
	}
	return res.PageCount, nil
}
