package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/docstrange/mesh/internal/envdefault"
	"github.com/docstrange/mesh/scheduler"
)

// Where a worker takes its jobs from.
const (
	// queueShared is the queue the edges fill: every worker claims from
	// it, first come first served, when no scheduler runs.
	queueShared = "shared"
	// queueAssigned is the worker's own queue, named by its id, holding
	// the jobs a scheduler placed on it.
	queueAssigned = "assigned"
)

// config is the worker's settings: flags, each defaulting to an environment
// variable, so a Nomad task sets them with env and a person with flags.
type config struct {
	RedisAddr   string
	RedisPrefix string
	Queue       string
	BlobDir     string
	BackendsDir string
	OCRBackend  string
	CacheDir    string
	ID          string
	Device      string
	Region      string
	Slots       int
	HTTPAddr    string
	LeaseTTL    time.Duration
	MaxAttempts int
	ResultTTL   time.Duration
	RenderDPI   int
	PDFEngines  int
	Version     bool
}

// parseConfig reads flags over the environment and checks the result; a
// typo never becomes a default.
func parseConfig(args []string) (*config, error) {
	c := &config{}
	host, _ := os.Hostname()
	fs := flag.NewFlagSet("docstrange-worker", flag.ContinueOnError)
	fs.StringVar(&c.RedisAddr, "redis", envdefault.String("DOCSTRANGE_REDIS_ADDR", "127.0.0.1:6379"), "Redis host:port holding jobs and the queue (DOCSTRANGE_REDIS_ADDR)")
	fs.StringVar(&c.RedisPrefix, "redis-prefix", envdefault.String("DOCSTRANGE_REDIS_PREFIX", "ds:"), "key prefix, the same as the edges' (DOCSTRANGE_REDIS_PREFIX)")
	fs.StringVar(&c.Queue, "queue", envdefault.String("DOCSTRANGE_QUEUE", queueShared), "shared: claim from the queue the edges fill (no scheduler); assigned: claim only the jobs a scheduler placed on this worker (DOCSTRANGE_QUEUE)")
	fs.StringVar(&c.BlobDir, "blob-dir", envdefault.String("DOCSTRANGE_BLOB_DIR", ""), "folder of job inputs and results, shared with the edges (DOCSTRANGE_BLOB_DIR; required)")
	fs.StringVar(&c.BackendsDir, "backends-dir", envdefault.String("DOCSTRANGE_BACKENDS_DIR", ""), "backend plugin binaries; empty runs without OCR (DOCSTRANGE_BACKENDS_DIR)")
	fs.StringVar(&c.OCRBackend, "ocr-backend", envdefault.String("DOCSTRANGE_OCR_BACKEND", "onnx"), "the backend that runs OCR (DOCSTRANGE_OCR_BACKEND)")
	fs.StringVar(&c.CacheDir, "cache-dir", envdefault.String("DOCSTRANGE_CACHE_DIR", defaultCacheDir()), "compilation cache of the PDF engine (DOCSTRANGE_CACHE_DIR)")
	fs.StringVar(&c.ID, "id", envdefault.String("DOCSTRANGE_WORKER_ID", fmt.Sprintf("%s-%d", host, os.Getpid())), "this worker's name on the queue (DOCSTRANGE_WORKER_ID; Nomad: the allocation id)")
	fs.StringVar(&c.Device, "device", envdefault.String("DOCSTRANGE_DEVICE", scheduler.DeviceCPU), "cpu or gpu, shown in job views (DOCSTRANGE_DEVICE)")
	fs.StringVar(&c.Region, "region", envdefault.String("DOCSTRANGE_REGION", "local"), "region name (DOCSTRANGE_REGION)")
	fs.IntVar(&c.Slots, "slots", envdefault.Int("DOCSTRANGE_SLOTS", 2), "jobs run at once (DOCSTRANGE_SLOTS)")
	fs.StringVar(&c.HTTPAddr, "http", envdefault.String("DOCSTRANGE_HTTP_ADDR", "127.0.0.1:8090"), "address of /health and /metrics (DOCSTRANGE_HTTP_ADDR)")
	fs.DurationVar(&c.LeaseTTL, "lease-ttl", envdefault.Duration("DOCSTRANGE_LEASE_TTL", 30*time.Second), "how long a claim lasts without renewal (DOCSTRANGE_LEASE_TTL)")
	fs.IntVar(&c.MaxAttempts, "max-attempts", envdefault.Int("DOCSTRANGE_MAX_ATTEMPTS", 3), "attempts before a job fails (DOCSTRANGE_MAX_ATTEMPTS)")
	fs.DurationVar(&c.ResultTTL, "result-ttl", envdefault.Duration("DOCSTRANGE_RESULT_TTL", 24*time.Hour), "how long results are kept (DOCSTRANGE_RESULT_TTL)")
	fs.IntVar(&c.RenderDPI, "render-dpi", envdefault.Int("DOCSTRANGE_RENDER_DPI", 200), "PDF page rendering for OCR (DOCSTRANGE_RENDER_DPI)")
	fs.IntVar(&c.PDFEngines, "pdf-instances", envdefault.Int("DOCSTRANGE_PDF_INSTANCES", 2), "PDF engine instances (DOCSTRANGE_PDF_INSTANCES)")
	fs.BoolVar(&c.Version, "version", false, "print the version and commit, then exit")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.Version {
		return c, nil
	}
	switch {
	case c.BlobDir == "":
		return nil, errors.New("-blob-dir (DOCSTRANGE_BLOB_DIR) is required: the folder the edges store inputs in")
	case c.Queue != queueShared && c.Queue != queueAssigned:
		return nil, fmt.Errorf("-queue %q: must be %s or %s", c.Queue, queueShared, queueAssigned)
	case c.Device != scheduler.DeviceCPU && c.Device != scheduler.DeviceGPU:
		return nil, fmt.Errorf("-device %q: must be cpu or gpu", c.Device)
	case c.Slots < 1:
		return nil, fmt.Errorf("-slots %d: must be at least 1", c.Slots)
	case c.LeaseTTL < time.Second:
		return nil, fmt.Errorf("-lease-ttl %s: must be at least 1s", c.LeaseTTL)
	case c.MaxAttempts < 1:
		return nil, fmt.Errorf("-max-attempts %d: must be at least 1", c.MaxAttempts)
	case c.PDFEngines < 1:
		return nil, fmt.Errorf("-pdf-instances %d: must be at least 1", c.PDFEngines)
	}
	return c, nil
}

func defaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return d + "/docstrange/wazero"
	}
	return ""
}
