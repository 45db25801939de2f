// Package docstrange is the Caddy app that owns the state every DocStrange
// handler shares: the job store and queue, the blob store, the PDF engine,
// the metrics set, and in embedded mode the worker agent and the retention
// loop. Handlers reach it with ctx.App("docstrange").
package docstrange

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/docstrange/mesh/plugins/host"
	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/blob"
	"github.com/docstrange/mesh/scheduler/extract"
	"github.com/docstrange/mesh/scheduler/webhook"
	"github.com/docstrange/mesh/scheduler/worker"
	"github.com/docstrange/mesh/sources/urlfetch"
	"github.com/docstrange/mesh/uploads"
)

func init() {
	caddy.RegisterModule(new(App))
}

// App is the "docstrange" Caddy app.
type App struct {
	// DataDir holds all state: jobs, blobs and caches. Default:
	// $DOCSTRANGE_DATA_DIR, else ".data".
	DataDir string `json:"data_dir,omitempty"`
	// Store is "embedded" (bbolt under DataDir) or "redis". Default:
	// embedded.
	Store string `json:"store,omitempty"`
	// BlobDir holds job inputs and results. Standalone workers
	// (docstrange-worker) must see the same folder. Default:
	// DataDir/blobs.
	BlobDir string `json:"blob_dir,omitempty"`
	// Redis configures the redis store. Default: 127.0.0.1:6379.
	Redis *RedisConfig `json:"redis,omitempty"`
	// MaxUploadSize is the largest accepted document in bytes. Default:
	// 100 MiB.
	MaxUploadSize int64 `json:"max_upload_size,omitempty"`
	// MaxPages is the largest accepted page count. Default: 2000.
	MaxPages int `json:"max_pages,omitempty"`
	// ResultTTL is how long inputs and results are kept after a job ends.
	// Default: 24h.
	ResultTTL caddy.Duration `json:"result_ttl,omitempty"`
	// LeaseTTL is how long a worker holds a job without renewing. Default:
	// 30s.
	LeaseTTL caddy.Duration `json:"lease_ttl,omitempty"`
	// MaxAttempts bounds retries of a job. Default: 3.
	MaxAttempts int `json:"max_attempts,omitempty"`
	// Workers is how many jobs the embedded worker runs at once; -1 runs no
	// embedded worker (the production layout, where workers are their own
	// processes). Default: 4.
	Workers int `json:"workers,omitempty"`
	// PDFInstances is how many PDF engine instances run at once. Default: 2.
	PDFInstances int `json:"pdf_instances,omitempty"`
	// CleanupInterval is how often expired artifacts are removed. Default:
	// 1m.
	CleanupInterval caddy.Duration `json:"cleanup_interval,omitempty"`
	// Region names this deployment's region. Default: "local".
	Region string `json:"region,omitempty"`
	// BackendsDir holds the backend plugin binaries, one entry per backend
	// (see plugins/host). Empty runs no backends, and images are refused.
	// Default: none.
	BackendsDir string `json:"backends_dir,omitempty"`
	// OCRBackend names the backend in BackendsDir that runs OCR. Default:
	// "onnx".
	OCRBackend string `json:"ocr_backend,omitempty"`
	// RenderDPI renders PDF pages for OCR. Default: 200.
	RenderDPI int `json:"render_dpi,omitempty"`
	// Auth configures tiers, API keys, rates and quotas. Default: embedded
	// tier data, keys and quotas in DataDir (redis store: in Redis).
	Auth *AuthConfig `json:"auth,omitempty"`
	// Uploads configures resumable-upload storage. Default: files in
	// DataDir/uploads, kept 24h.
	Uploads *UploadsConfig `json:"uploads,omitempty"`
	// Dedupe is "tenant" (a tenant's repeated submission of the same
	// content with the same options is answered with its earlier finished
	// job, cached: true) or "off". Default: tenant.
	Dedupe string `json:"dedupe,omitempty"`
	// URLSources is the policy for documents fetched by URL. Default: any
	// public address, 30s, 5 redirects.
	URLSources *URLSourcesConfig `json:"url_sources,omitempty"`
	// Webhooks configures the delivery of job events. Default: public
	// addresses only, retried for 24h.
	Webhooks *WebhooksConfig `json:"webhooks,omitempty"`

	ctx caddy.Context
	log *slog.Logger
	// reqLog adds the request id of the context to each line.
	reqLog *slog.Logger
	jobs   scheduler.Backend
	blobs  *blob.Local
	pdf    *extract.PDFEngine
	// inspector counts pages on the submit path; see openPDF.
	inspector *extract.PDFEngine
	metrics   *Metrics
	shared    []caddy.Destructor
	agent     *worker.Agent
	// local is the embedded worker's queue of placed jobs when the
	// dispatch loop runs in process (embeddedScheduling); nil otherwise.
	local    scheduler.Queue
	webhooks *webhook.Sender
	// webhookPost checks webhook URLs at submission; the sender posts
	// through it.
	webhookPost *urlfetch.Fetcher
	// webhookSecrets caches WebhookSecret by tenant: GET /api/v1/me shows
	// it on every call, and deriving it (an HMAC and base64) cost about
	// 4 µs a request, a sixth of what the auth chain's route adds.
	webhookSecrets *lru.Cache[string, string]
	host           *host.Host
	auth           authState
	uploads        *uploads.Store
	routes         routeTable

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// CaddyModule implements caddy.Module.
func (*App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "docstrange", New: func() caddy.Module { return new(App) }}
}

// Provision opens the stores. Stores are shared through a usage pool so a
// config reload, which provisions the new app before stopping the old one,
// reuses the open bbolt file instead of deadlocking on its file lock.
func (a *App) Provision(ctx caddy.Context) error {
	a.ctx = ctx
	a.log = ctx.Slogger()
	a.reqLog = RequestLogger(a.log)
	if err := a.setDefaults(); err != nil {
		return err
	}
	dir, err := filepath.Abs(a.DataDir)
	if err != nil {
		return fmt.Errorf("resolving data_dir: %w", err)
	}
	a.DataDir = dir
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("creating data_dir: %w", err)
	}
	blobDir := filepath.Join(dir, "blobs")
	if a.BlobDir != "" {
		if blobDir, err = filepath.Abs(a.BlobDir); err != nil {
			return fmt.Errorf("resolving blob_dir: %w", err)
		}
	}
	if a.blobs, err = blob.NewLocal(blobDir); err != nil {
		return err
	}
	jobs, err := a.openJobs(ctx)
	if err != nil {
		return err
	}
	a.jobs = jobs
	if a.pdf, err = a.openPDF(ctx, "extract", false); err != nil {
		return err
	}
	if a.inspector, err = a.openPDF(ctx, "inspect", true); err != nil {
		return err
	}
	// Compiling PDFium's WebAssembly leaves a few hundred MB of garbage that
	// an idle edge would otherwise keep mapped until load makes the runtime
	// collect; hand it back now.
	debug.FreeOSMemory()
	if err := a.provisionAuth(ctx); err != nil {
		return err
	}
	if err := a.openUploads(ctx); err != nil {
		return err
	}
	if a.URLSources != nil {
		if err := a.URLSources.check(); err != nil {
			return err
		}
	}
	if a.local, err = a.openLocal(ctx); err != nil {
		return err
	}
	var stats queueStats = a.jobs
	if a.local != nil {
		stats = waitingStats{main: a.jobs, local: a.local}
	}
	a.metrics = newMetrics(ctx, stats)
	if err := a.provisionWebhooks(); err != nil {
		return err
	}
	if a.BackendsDir != "" {
		sh, err := a.openHost(ctx)
		if err != nil {
			return err
		}
		a.host = sh.Host
		a.metrics.extra = sh.set
	}
	return nil
}

// Start implements caddy.App: in embedded mode it runs the worker agent and
// the retention loop.
func (a *App) Start() error {
	ctx, cancel := context.WithCancel(a.ctx)
	a.cancel = cancel
	if a.Workers > 0 {
		var jobs scheduler.Backend = a.jobs
		if a.local != nil {
			if err := a.startDispatch(ctx); err != nil {
				cancel()
				return err
			}
			jobs = scheduler.WithQueue(a.jobs, a.local)
		}
		a.agent = worker.New(worker.Config{
			Name:        LocalWorker,
			Slots:       a.Workers,
			LeaseTTL:    time.Duration(a.LeaseTTL),
			MaxAttempts: a.MaxAttempts,
			ResultTTL:   time.Duration(a.ResultTTL),
			Backend:     extract.BackendName,
			Device:      scheduler.DeviceCPU,
			Region:      a.Region,
		}, jobs, a.blobs, worker.NewDocumentPipeline(a.blobs, a.pdf, worker.PipelineConfig{OCR: a.ocr(), DPI: a.RenderDPI, Limits: a.ImageLimits()}), a.log.With("component", "worker"), a.metrics)
		a.wg.Go(func() { a.agent.Run(ctx) })
	}
	a.wg.Go(func() { a.webhooks.Run(ctx) })
	a.wg.Go(func() { a.watchPolicy(ctx) })
	a.wg.Go(func() { a.expireUploads(ctx) })
	a.wg.Go(func() {
		(&retention{jobs: a.jobs, blobs: a.blobs, every: time.Duration(a.CleanupInterval), log: a.log}).run(ctx)
	})
	return nil
}

// Stop implements caddy.App: running jobs are handed back to the queue.
func (a *App) Stop() error {
	if a.cancel != nil {
		a.cancel()
	}
	a.wg.Wait()
	return nil
}

// Cleanup releases this app's hold on the shared stores.
func (a *App) Cleanup() error {
	for _, d := range a.shared {
		d.Destruct()
	}
	if a.metrics != nil {
		a.metrics.unregister()
	}
	return nil
}

// Jobs returns the job store and queue.
func (a *App) Jobs() scheduler.Backend { return a.jobs }

// Blobs returns the artifact store.
func (a *App) Blobs() *blob.Local { return a.blobs }

// PDF returns the extraction engine.
func (a *App) PDF() *extract.PDFEngine { return a.pdf }

// Inspector returns the engine that checks PDFs at submit.
func (a *App) Inspector() *extract.PDFEngine { return a.inspector }

// Metrics returns the app's metrics.
func (a *App) Metrics() *Metrics { return a.metrics }

// ocr is the worker's view of the OCR backend, nil without one.
func (a *App) ocr() *worker.OCR {
	if a.host == nil {
		return nil
	}
	return &worker.OCR{Backend: a.host.Backend(a.OCRBackend), Name: a.OCRBackend}
}

// OCRAvailable reports whether the OCR backend can take work now, which
// decides whether images are accepted.
func (a *App) OCRAvailable() bool {
	if a.host == nil {
		return false
	}
	for _, st := range a.host.List() {
		if st.Name == a.OCRBackend {
			return st.Health.Status.CanServe() && (st.State == host.StateRunning || st.State == host.StateRestarting)
		}
	}
	return false
}

// ImageLimits guard image decoding: the pixel count, and the pages of a
// multi-page image (bounded by MaxPages).
func (a *App) ImageLimits() extract.ImageLimits {
	return extract.ImageLimits{MaxPixels: extract.DefaultMaxPixels, MaxPages: a.MaxPages}
}

// ErrNoBackends: this deployment runs no backend host (no backends_dir).
var ErrNoBackends = errors.New("no backends are configured")

// ReloadBackend hot-swaps backend name to the binary now in BackendsDir.
func (a *App) ReloadBackend(ctx context.Context, name string) error {
	if a.host == nil {
		return ErrNoBackends
	}
	return a.host.Reload(ctx, name)
}

// Backends lists the backend processes, for health and the admin API.
func (a *App) Backends() []host.Status {
	if a.host == nil {
		return nil
	}
	return a.host.List()
}

// WorkersRunning reports whether an embedded worker is consuming the queue.
func (a *App) WorkersRunning() bool { return a.agent != nil }

// Interface guards.
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
