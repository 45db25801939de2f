package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/blob"
	"github.com/docstrange/mesh/scheduler/extract"
)

// maxTextInput bounds a plain-text document read into memory.
const maxTextInput = 64 << 20

// DocumentPipeline is the document pipeline of this slice: detect (done at
// submit), the PDF text layer, or plain text passed through. OCR of images
// and of pages without a text layer arrives with the backend plugins.
type DocumentPipeline struct {
	blobs *blob.Local
	pdf   *extract.PDFEngine
}

// NewDocumentPipeline builds the pipeline over local blobs.
func NewDocumentPipeline(blobs *blob.Local, pdf *extract.PDFEngine) *DocumentPipeline {
	return &DocumentPipeline{blobs: blobs, pdf: pdf}
}

// Run implements Pipeline.
func (p *DocumentPipeline) Run(ctx context.Context, job *scheduler.Job, progress func(done, total int)) (*scheduler.Document, error) {
	start := time.Now()
	var doc *scheduler.Document
	var err error
	if job.Input.MediaType == extract.MediaTypePDF {
		doc, err = p.runPDF(ctx, job, progress)
	} else {
		doc, err = p.runText(ctx, job)
		progress(1, 1)
	}
	if err != nil {
		return nil, err
	}
	doc.Backend = extract.BackendName
	doc.BackendVersion = extract.BackendVersion
	doc.Timings.TotalMS = time.Since(start).Milliseconds()
	doc.Timings.ExtractMS = doc.Timings.TotalMS
	return doc, nil
}

func (p *DocumentPipeline) runPDF(ctx context.Context, job *scheduler.Job, progress func(done, total int)) (*scheduler.Document, error) {
	pages, err := scheduler.SelectPages(job.Options.Pages, job.Input.Pages)
	if err != nil {
		return nil, &scheduler.JobError{Code: api.CodeInvalidRequest, Message: err.Error()}
	}
	path, err := p.blobs.Path(job.Input.Key)
	if err != nil {
		return nil, fmt.Errorf("locating input: %w", err)
	}
	doc, err := p.pdf.ExtractPDF(ctx, path, pages, func(done int) { progress(done, len(pages)) })
	switch {
	case errors.Is(err, extract.ErrEncrypted):
		return nil, &scheduler.JobError{Code: api.CodeUnprocessableDocument, Message: "the PDF is encrypted"}
	case errors.Is(err, extract.ErrCorrupt):
		return nil, &scheduler.JobError{Code: api.CodeUnprocessableDocument, Message: "the PDF is damaged and cannot be read"}
	case err != nil:
		return nil, err
	}
	return doc, nil
}

func (p *DocumentPipeline) runText(ctx context.Context, job *scheduler.Job) (*scheduler.Document, error) {
	rc, _, err := p.blobs.Open(ctx, job.Input.Key)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, &scheduler.JobError{Code: api.CodeProcessingError, Message: "the uploaded document is no longer stored"}
	}
	if err != nil {
		return nil, fmt.Errorf("opening input: %w", err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxTextInput))
	if err != nil {
		return nil, fmt.Errorf("reading input: %w", err)
	}
	return extract.ExtractText(data, job.Input.MediaType), nil
}
