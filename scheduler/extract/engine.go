package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/klippa-app/go-pdfium"
	pdfiumerrors "github.com/klippa-app/go-pdfium/errors"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
	"github.com/klippa-app/go-pdfium/webassembly"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// PDFConfig sizes the PDFium instance pool of a PDFEngine. The zero value is
// valid.
type PDFConfig struct {
	// CacheDir keeps wazero's compiled machine code for the PDFium module
	// between process starts, which turns a start of several seconds into
	// one of about a tenth of a second. The folder is created if missing and
	// must not be shared with untrusted writers. Default: "" (compile in
	// memory on every start).
	CacheDir string `json:"cache_dir,omitempty"`
	// MinIdle is how many instances are created up front, so the first
	// documents after a start skip creating one. Default: 1.
	MinIdle int `json:"min_idle,omitempty"`
	// MaxIdle is how many idle instances the pool keeps. Default: MaxTotal.
	MaxIdle int `json:"max_idle,omitempty"`
	// MaxTotal caps the instances alive at once, and so the documents
	// processed at once; further calls wait for a free instance or for their
	// context. Default: GOMAXPROCS.
	MaxTotal int `json:"max_total,omitempty"`
	// ReuseInstances hands an instance back to the pool after a document
	// instead of discarding it, which skips creating an instance (about
	// 3 ms): Inspect of a one-page PDF drops to about 0.1 ms. One instance
	// then sees documents of several tenants in turn, and a PDF that
	// corrupts PDFium's state affects the next one. Default: false (a fresh
	// instance per document).
	ReuseInstances bool `json:"reuse_instances,omitempty"`
	// Interruptible makes a cancelled context abort PDFium in the middle of
	// a call (loading a huge page, say) instead of at the next page or
	// character batch. The machine code then checks for termination as it
	// runs, which makes extraction about twice as slow. Default: false.
	Interruptible bool `json:"interruptible,omitempty"`
	// MemoryLimitMiB caps the WebAssembly memory of one instance. Default:
	// 0 (the wasm32 maximum, 4096).
	MemoryLimitMiB int `json:"memory_limit_mib,omitempty"`
}

// normalize fills defaults and rejects impossible sizes.
func (c *PDFConfig) normalize() error {
	if c.MinIdle < 0 || c.MaxIdle < 0 || c.MaxTotal < 0 || c.MemoryLimitMiB < 0 {
		return errors.New("pool sizes and memory limit must not be negative")
	}
	if c.MemoryLimitMiB > 4096 {
		return fmt.Errorf("memory_limit_mib %d is over the wasm32 maximum of 4096", c.MemoryLimitMiB)
	}
	if c.MaxTotal == 0 {
		c.MaxTotal = runtime.GOMAXPROCS(0)
	}
	if c.MinIdle == 0 {
		c.MinIdle = 1
	}
	if c.MaxIdle == 0 {
		c.MaxIdle = c.MaxTotal
	}
	if c.MinIdle > c.MaxIdle || c.MaxIdle > c.MaxTotal {
		return fmt.Errorf("pool sizes must satisfy min_idle (%d) <= max_idle (%d) <= max_total (%d)", c.MinIdle, c.MaxIdle, c.MaxTotal)
	}
	return nil
}

// PDFEngine opens PDFs with a pool of PDFium WebAssembly instances. It is safe
// for concurrent use; each call borrows one instance for one document.
type PDFEngine struct {
	cfg    PDFConfig
	pool   pdfium.Pool
	cache  wazero.CompilationCache
	ctx    context.Context // the pool's context, for closing the cache
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
}

// NewPDFEngine compiles (or loads from PDFConfig.CacheDir) the PDFium module and
// prepares the pool. ctx bounds the start only: the engine lives until Close.
func NewPDFEngine(ctx context.Context, cfg PDFConfig) (*PDFEngine, error) {
	if err := cfg.normalize(); err != nil {
		return nil, fmt.Errorf("validating pdf engine config: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rc := wazero.NewRuntimeConfig().
		// The bundled module lowers setjmp/longjmp to exception handling.
		WithCoreFeatures(api.CoreFeaturesV2 | experimental.CoreFeaturesExceptionHandling).
		WithCloseOnContextDone(cfg.Interruptible)
	if cfg.MemoryLimitMiB > 0 {
		rc = rc.WithMemoryLimitPages(uint32(cfg.MemoryLimitMiB) * 16) // 64 KiB pages
	}
	var cache wazero.CompilationCache
	if cfg.CacheDir != "" {
		if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("creating compilation cache dir: %w", err)
		}
		c, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("opening compilation cache %q: %w", cfg.CacheDir, err)
		}
		cache = c
		rc = rc.WithCompilationCache(cache)
	}
	// The pool outlives ctx; keep its values but not its cancellation.
	poolCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	pool, err := webassembly.Init(webassembly.Config{
		Context:       poolCtx,
		MinIdle:       cfg.MinIdle,
		MaxIdle:       cfg.MaxIdle,
		MaxTotal:      cfg.MaxTotal,
		RuntimeConfig: rc,
		// No file system at all: documents arrive as bytes or through a Go
		// reader, so a hostile PDF cannot name a host path.
		FSConfig:     wazero.NewFSConfig(),
		Stdout:       io.Discard,
		Stderr:       io.Discard,
		ReuseWorkers: cfg.ReuseInstances,
	})
	if err != nil {
		cancel()
		if cache != nil {
			_ = cache.Close(poolCtx)
		}
		return nil, fmt.Errorf("starting pdfium pool: %w", err)
	}
	return &PDFEngine{cfg: cfg, pool: pool, cache: cache, ctx: poolCtx, cancel: cancel}, nil
}

// Close releases every instance and the runtime. Calls after the first
// return nil; calls made after Close fail with ErrClosed.
func (e *PDFEngine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	err := e.pool.Close()
	if e.cache != nil {
		if cerr := e.cache.Close(e.ctx); cerr != nil && err == nil {
			err = cerr
		}
	}
	e.cancel()
	if err != nil {
		return fmt.Errorf("closing pdfium pool: %w", err)
	}
	return nil
}

// source is where a document's bytes come from: exactly one of data or path.
type source struct {
	data []byte
	path string
}

// withDocument borrows an instance, opens the document and runs fn. It maps
// PDFium's open errors to ErrCorrupt and ErrEncrypted, and the end of ctx
// during fn to ctx.Err().
func (e *PDFEngine) withDocument(ctx context.Context, src source, fn func(inst pdfium.Pdfium, doc references.FPDF_DOCUMENT) error) error {
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	req := &requests.OpenDocument{}
	if src.path != "" {
		f, err := os.Open(src.path)
		if err != nil {
			return fmt.Errorf("opening document: %w", err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return fmt.Errorf("opening document: %w", err)
		}
		if st.Size() == 0 {
			return fmt.Errorf("opening document: empty file: %w", ErrCorrupt)
		}
		req.FileReader, req.FileReaderSize = f, st.Size()
	} else {
		if len(src.data) == 0 {
			return fmt.Errorf("opening document: no data: %w", ErrCorrupt)
		}
		req.File = &src.data
	}

	inst, err := e.pool.GetInstanceWithContext(ctx)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return fmt.Errorf("getting pdfium instance: %w", err)
	}
	killed := func() bool { return false }
	if e.cfg.Interruptible {
		// Kill cancels the instance's context, which ends a running call
		// with an error, and discards the instance instead of closing it.
		stop := context.AfterFunc(ctx, func() { _ = inst.Kill() })
		killed = func() bool { return !stop() }
	}
	err = runDocument(inst, req, fn)
	if killed() {
		return ctx.Err()
	}
	if cerr := inst.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("closing pdfium instance: %w", cerr)
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
	}
	return err
}

// runDocument opens req on inst, runs fn and closes the document again.
func runDocument(inst pdfium.Pdfium, req *requests.OpenDocument, fn func(inst pdfium.Pdfium, doc references.FPDF_DOCUMENT) error) error {
	opened, err := inst.OpenDocument(req)
	if err != nil {
		return fmt.Errorf("opening document: %w", openError(err))
	}
	err = fn(inst, opened.Document)
	if _, cerr := inst.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: opened.Document}); cerr != nil && err == nil {
		err = fmt.Errorf("closing document: %w", cerr)
	}
	return err
}

// openError classifies the error FPDF_LoadDocument left in FPDF_GetLastError.
func openError(err error) error {
	switch {
	case errors.Is(err, pdfiumerrors.ErrPassword), errors.Is(err, pdfiumerrors.ErrSecurity):
		return fmt.Errorf("%w: %w", ErrEncrypted, err)
	case errors.Is(err, pdfiumerrors.ErrFormat), errors.Is(err, pdfiumerrors.ErrFile),
		errors.Is(err, pdfiumerrors.ErrUnknown), errors.Is(err, pdfiumerrors.ErrPage):
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return err
}
