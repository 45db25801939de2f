package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/blob"
	"github.com/docstrange/mesh/scheduler/extract"
)

// maxTextInput bounds a plain-text document read into memory.
const maxTextInput = 64 << 20

// DocumentPipeline turns a stored input into the canonical document: the
// PDF text layer, OCR through a backend plugin for images and for PDF pages
// whose text layer is missing or unusable, and plain text passed through.
type DocumentPipeline struct {
	blobs *blob.Local
	pdf   *extract.PDFEngine
	cfg   PipelineConfig
}

// PipelineConfig tunes the pipeline.
type PipelineConfig struct {
	// OCR reads page images; nil means no OCR backend, and pages without
	// a text layer come back empty with a warning.
	OCR *OCR
	// DPI renders PDF pages for OCR. Default: extract.DefaultRenderDPI.
	DPI int
	// Limits guard image decoding. Default: extract's defaults.
	Limits extract.ImageLimits
	// TextLayer decides, under ocr=auto, which PDF pages need OCR.
	TextLayer extract.TextLayerPolicy
}

// NewDocumentPipeline builds the pipeline over local blobs.
func NewDocumentPipeline(blobs *blob.Local, pdf *extract.PDFEngine, cfg PipelineConfig) *DocumentPipeline {
	if cfg.DPI <= 0 {
		cfg.DPI = extract.DefaultRenderDPI
	}
	return &DocumentPipeline{blobs: blobs, pdf: pdf, cfg: cfg}
}

// Run implements Pipeline.
func (p *DocumentPipeline) Run(ctx context.Context, job *scheduler.Job, progress func(done, total int)) (*scheduler.Document, error) {
	start := time.Now()
	var doc *scheduler.Document
	var err error
	switch {
	case job.Input.MediaType == extract.MediaTypePDF:
		doc, err = p.runPDF(ctx, job, progress)
	case strings.HasPrefix(job.Input.MediaType, "image/"):
		doc, err = p.runImage(ctx, job, progress)
	default:
		doc, err = p.runText(ctx, job)
		progress(1, 1)
	}
	if err != nil {
		return nil, err
	}
	if doc.Backend == "" {
		doc.Backend = extract.BackendName
		doc.BackendVersion = extract.BackendVersion
	}
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
	needOCR, err := p.pagesNeedingOCR(ctx, path, pages, job.Options.OCR)
	if err != nil {
		return nil, pdfError(err)
	}
	report := func(done int) { progress(done, len(pages)) }
	if len(needOCR) > 0 {
		// Text extraction is milliseconds a page; progress then counts
		// the OCR pages one by one.
		report = func(int) {}
	}
	doc, err := p.pdf.ExtractPDF(ctx, path, pages, report)
	if err != nil {
		return nil, pdfError(err)
	}
	if len(needOCR) == 0 {
		return doc, nil
	}
	done := len(pages) - len(needOCR)
	progress(done, len(pages))
	byNumber := map[int]*scheduler.Page{}
	for i := range doc.Pages {
		byNumber[doc.Pages[i].Number] = &doc.Pages[i]
	}
	for _, n := range needOCR {
		// One page a call: RenderPDF holds an engine instance while its
		// caller loops, and OCR of a page takes far longer than rendering.
		for rp, err := range p.pdf.RenderPDF(ctx, path, []int{n}, extract.RenderOptions{DPI: p.cfg.DPI, Limits: p.cfg.Limits}) {
			if err != nil {
				return nil, pdfError(err)
			}
			blocks, err := p.cfg.OCR.recognize(ctx, rp.Image, 1/rp.Scale, job.Options.Languages)
			if err != nil {
				return nil, err
			}
			page := byNumber[n]
			if page == nil {
				return nil, fmt.Errorf("page %d missing from the text pass", n)
			}
			page.Blocks, page.Warnings = blocks, nil
		}
		done++
		progress(done, len(pages))
	}
	p.nameOCR(ctx, doc)
	return doc, nil
}

// pagesNeedingOCR applies the job's ocr mode: off never, force every page,
// auto the pages whose text layer the policy finds unusable. Without an
// OCR backend nothing is OCRed and the text pass warns about empty pages.
func (p *DocumentPipeline) pagesNeedingOCR(ctx context.Context, path string, pages []int, mode string) ([]int, error) {
	if p.cfg.OCR == nil || mode == scheduler.OCROff {
		return nil, nil
	}
	if mode == scheduler.OCRForce {
		return pages, nil
	}
	layers, err := p.pdf.TextLayers(ctx, path, pages)
	if err != nil {
		return nil, err
	}
	var need []int
	for _, l := range layers {
		if p.cfg.TextLayer.NeedsOCR(extract.OCRAuto, l) {
			need = append(need, l.Page)
		}
	}
	return need, nil
}

func pdfError(err error) error {
	switch {
	case errors.Is(err, extract.ErrEncrypted):
		return &scheduler.JobError{Code: api.CodeUnprocessableDocument, Message: "the PDF is encrypted"}
	case errors.Is(err, extract.ErrCorrupt):
		return &scheduler.JobError{Code: api.CodeUnprocessableDocument, Message: "the PDF is damaged and cannot be read"}
	case errors.Is(err, extract.ErrImageTooLarge):
		return &scheduler.JobError{Code: api.CodeUnprocessableDocument, Message: "a page is too large to render for OCR"}
	}
	return err
}

// runImage OCRs each selected page of an image; coordinates are pixels.
func (p *DocumentPipeline) runImage(ctx context.Context, job *scheduler.Job, progress func(done, total int)) (*scheduler.Document, error) {
	if p.cfg.OCR == nil {
		return nil, &scheduler.JobError{Code: api.CodeBackendUnavailable, Message: "images need OCR, and no OCR backend is running"}
	}
	pages, err := scheduler.SelectPages(job.Options.Pages, job.Input.Pages)
	if err != nil {
		return nil, &scheduler.JobError{Code: api.CodeInvalidRequest, Message: err.Error()}
	}
	rc, info, err := p.blobs.Open(ctx, job.Input.Key)
	if err != nil {
		return nil, fmt.Errorf("opening input: %w", err)
	}
	defer rc.Close()
	ra, ok := rc.(io.ReaderAt)
	if !ok {
		return nil, fmt.Errorf("input %q cannot be read at offsets", job.Input.Key)
	}
	doc := &scheduler.Document{PageCount: job.Input.Pages}
	for ip, err := range extract.DecodeImagePages(ctx, ra, info.Size, pages, p.cfg.Limits) {
		if err != nil {
			return nil, imageError(err)
		}
		blocks, err := p.cfg.OCR.recognize(ctx, ip.Image, 1, job.Options.Languages)
		if err != nil {
			return nil, err
		}
		b := ip.Image.Bounds()
		doc.Pages = append(doc.Pages, scheduler.Page{Number: ip.Number, Width: float64(b.Dx()), Height: float64(b.Dy()), Blocks: blocks})
		progress(len(doc.Pages), len(pages))
	}
	p.nameOCR(ctx, doc)
	return doc, nil
}

func imageError(err error) error {
	for _, e := range []error{extract.ErrCorrupt, extract.ErrImageTooLarge, extract.ErrTooManyPages, extract.ErrUnsupportedImage} {
		if errors.Is(err, e) {
			return &scheduler.JobError{Code: api.CodeUnprocessableDocument, Message: err.Error()}
		}
	}
	return err
}

// nameOCR records which backend read the pages.
func (p *DocumentPipeline) nameOCR(ctx context.Context, doc *scheduler.Document) {
	doc.Backend = p.cfg.OCR.Name
	if info, err := p.cfg.OCR.Backend.Info(ctx); err == nil {
		doc.Backend, doc.BackendVersion = info.Name, info.Version
	}
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
