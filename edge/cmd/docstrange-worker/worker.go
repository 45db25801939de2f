package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/docstrange/mesh/plugins/host"
	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/blob"
	"github.com/docstrange/mesh/scheduler/dispatch"
	"github.com/docstrange/mesh/scheduler/extract"
	"github.com/docstrange/mesh/scheduler/redisstore"
	"github.com/docstrange/mesh/scheduler/worker"
)

// process is the assembled worker.
type process struct {
	cfg   *config
	log   *slog.Logger
	jobs  *redisstore.Store
	pdf   *extract.PDFEngine
	host  *host.Host
	agent *worker.Agent
	// own is this worker's queue of placed jobs (-queue assigned), nil
	// when it claims from the shared queue.
	own  *redisstore.Queue
	set  *metrics.Set
	hset *metrics.Set
}

// open connects to Redis, opens the blob folder, starts the PDF engine and
// the backends, and builds the agent.
func open(ctx context.Context, cfg *config, log *slog.Logger) (*process, error) {
	p := &process{cfg: cfg, log: log, set: metrics.NewSet()}
	var err error
	if p.jobs, err = redisstore.New(ctx, redisstore.Config{Addr: cfg.RedisAddr, Prefix: cfg.RedisPrefix}); err != nil {
		return nil, fmt.Errorf("connecting to redis %s: %w", cfg.RedisAddr, err)
	}
	blobDir, err := filepath.Abs(cfg.BlobDir)
	if err != nil {
		p.close(ctx)
		return nil, fmt.Errorf("resolving blob dir: %w", err)
	}
	blobs, err := blob.NewLocal(blobDir)
	if err != nil {
		p.close(ctx)
		return nil, err
	}
	if p.pdf, err = extract.NewPDFEngine(ctx, extract.PDFConfig{CacheDir: cfg.CacheDir, MaxTotal: cfg.PDFEngines}); err != nil {
		p.close(ctx)
		return nil, fmt.Errorf("starting PDF engine: %w", err)
	}
	var ocr *worker.OCR
	if cfg.BackendsDir != "" {
		p.hset = metrics.NewSet()
		if p.host, err = host.New(host.Config{Dir: cfg.BackendsDir}, log.With("component", "backends"), p.hset); err != nil {
			p.close(ctx)
			return nil, fmt.Errorf("starting backend host: %w", err)
		}
		if err := p.host.Start(ctx); err != nil {
			// A backend that fails to start shows in /health; the
			// others run.
			log.Error("starting backends", "error", err)
		}
		ocr = &worker.OCR{Backend: p.host.Backend(cfg.OCRBackend), Name: cfg.OCRBackend}
	}
	var queue scheduler.Queue = p.jobs
	if cfg.Queue == queueAssigned {
		if p.own, err = p.jobs.Queue(ctx, cfg.ID); err != nil {
			p.close(ctx)
			return nil, fmt.Errorf("opening this worker's queue: %w", err)
		}
		queue = p.own
	}
	pipe := worker.NewDocumentPipeline(blobs, p.pdf, worker.PipelineConfig{OCR: ocr, DPI: cfg.RenderDPI})
	p.agent = worker.New(worker.Config{
		Name: cfg.ID, Slots: cfg.Slots, LeaseTTL: cfg.LeaseTTL, MaxAttempts: cfg.MaxAttempts, ResultTTL: cfg.ResultTTL,
		Backend: extract.BackendName, Device: cfg.Device, Region: cfg.Region,
	}, scheduler.WithQueue(p.jobs, queue), blobs, pipe, log, p)
	return p, nil
}

// JobFinished implements worker.Observer.
func (p *process) JobFinished(st scheduler.Status, d time.Duration) {
	p.set.GetOrCreateCounter(fmt.Sprintf(`docstrange_jobs_total{state=%q}`, st)).Inc()
	if d > 0 {
		p.set.GetOrCreateHistogram(fmt.Sprintf(`docstrange_job_duration_seconds{state=%q}`, st)).Update(d.Seconds())
	}
}

// LeaseExpired implements worker.Observer.
func (p *process) LeaseExpired() {
	p.set.GetOrCreateCounter("docstrange_worker_lease_expiries_total").Inc()
}

// serve runs the agent and the health and metrics listener until ctx ends;
// the agent hands its running jobs back before serve returns.
func (p *process) serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", p.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", p.cfg.HTTPAddr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", p.health)
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		p.set.WritePrometheus(w)
		if p.hset != nil {
			p.hset.WritePrometheus(w)
		}
		metrics.WriteProcessMetrics(w)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	p.log.Info("worker running", "addr", ln.Addr().String(), "slots", p.cfg.Slots, "device", p.cfg.Device, "redis", p.cfg.RedisAddr)
	p.agent.Run(ctx)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	p.handBack(sctx)
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// health is 200 while Redis answers and every backend can serve, else 503,
// with the detail either way; Consul's check reads it.
func (p *process) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	out := map[string]any{"status": "ok", "worker": p.cfg.ID, "device": p.cfg.Device, "slots": p.cfg.Slots, "region": p.cfg.Region, "version": buildVersion(), "pid": os.Getpid()}
	status := http.StatusOK
	if err := p.jobs.Ping(ctx); err != nil {
		out["status"], out["redis"] = "unavailable", err.Error()
		status = http.StatusServiceUnavailable
	}
	if p.host != nil {
		backends := p.host.List()
		out["backends"] = backends
		for _, b := range backends {
			if !b.Health.Status.CanServe() {
				out["status"] = "degraded"
				status = http.StatusServiceUnavailable
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(out)
}

// handBack moves the jobs placed on this worker and not started (and
// those the agent just handed back) to the main queue, so a scheduler
// places them again at once instead of after -dead-after: a worker stopped
// by a scale-down leaves nothing waiting on it.
func (p *process) handBack(ctx context.Context) {
	if p.own == nil {
		return
	}
	main, err := p.jobs.Queue(ctx, "")
	if err != nil {
		p.log.Warn("handing placed jobs back", "error", err)
		return
	}
	n, err := dispatch.Drain(ctx, p.own, main, p.cfg.ID+"-handback")
	if err != nil {
		p.log.Warn("handing placed jobs back", "error", err, "handed_back", n)
	}
	if n > 0 {
		p.log.Info("placed jobs handed back to the scheduler", "jobs", n)
	}
}

// close releases everything open opened, giving the backends up to 30s to
// finish what they hold.
func (p *process) close(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if p.host != nil {
		if err := p.host.Close(ctx); err != nil {
			p.log.Warn("stopping backends", "error", err)
		}
	}
	if p.pdf != nil {
		p.pdf.Close()
	}
	if p.jobs != nil {
		p.jobs.Close()
	}
}
