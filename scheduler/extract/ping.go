package extract

import (
	"context"
	"fmt"
)

// pingPDF is the smallest PDF PDFium opens: one empty page.
const pingPDF = "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n" +
	"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" +
	"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]>>endobj\n" +
	"trailer<</Root 1 0 R>>\n%%EOF\n"

// Ping proves the engine can open a document now: it takes an instance from
// the pool and opens a one-page PDF, so a wedged pool fails health checks.
func (e *PDFEngine) Ping(ctx context.Context) error {
	info, err := e.InspectBytes(ctx, []byte(pingPDF))
	if err != nil {
		return fmt.Errorf("opening a test document: %w", err)
	}
	if info.Pages != 1 {
		return fmt.Errorf("test document has %d pages, want 1", info.Pages)
	}
	return nil
}
