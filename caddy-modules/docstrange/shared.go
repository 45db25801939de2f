package docstrange

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/caddyserver/caddy/v2"

	"github.com/docstrange/mesh/plugins/host"
	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/extract"
	"github.com/docstrange/mesh/scheduler/memstore"
	"github.com/docstrange/mesh/scheduler/redisstore"
)

// pool shares open stores and engines across config reloads. It is the one
// package-level registry, the pattern Caddy's own listener pool uses: the
// resources outlive any single App value.
var pool = caddy.NewUsagePool()

type sharedBackend struct{ scheduler.Backend }

func (s sharedBackend) Destruct() error { return s.Close() }

type sharedPDF struct{ *extract.PDFEngine }

func (s sharedPDF) Destruct() error { return s.Close() }

func (a *App) openJobs(ctx caddy.Context) (scheduler.Backend, error) {
	var key string
	var open func() (caddy.Destructor, error)
	switch a.Store {
	case StoreRedis:
		cfg := redisstore.Config{Addr: a.Redis.Addr, Password: a.Redis.Password, DB: a.Redis.DB, Prefix: a.Redis.Prefix}
		key = fmt.Sprintf("redis:%s/%d/%s", cfg.Addr, cfg.DB, cfg.Prefix)
		open = func() (caddy.Destructor, error) {
			s, err := redisstore.New(ctx, cfg)
			if err != nil {
				return nil, err
			}
			return sharedBackend{s}, nil
		}
	default:
		path := filepath.Join(a.DataDir, "jobs.db")
		key = "bolt:" + path
		open = func() (caddy.Destructor, error) {
			s, err := memstore.Open(ctx, memstore.Config{Path: path})
			if err != nil {
				return nil, err
			}
			return sharedBackend{s}, nil
		}
	}
	v, _, err := pool.LoadOrNew(key, open)
	if err != nil {
		return nil, fmt.Errorf("opening job store: %w", err)
	}
	a.shared = append(a.shared, keyed{key})
	return v.(sharedBackend).Backend, nil
}

// openPDF starts a PDF engine. The extraction engine gives every document
// a fresh PDFium instance, so nothing one tenant's document does to an
// instance's memory can touch another's. The submit path's engine only
// opens documents to count pages, and reuses instances: that is 25 times
// faster (3.1ms → 0.13ms a document), and the worst a poisoned instance could
// do is misreport a later document's page count, which extraction checks
// again on a fresh instance.
func (a *App) openPDF(ctx caddy.Context, purpose string, reuse bool) (*extract.PDFEngine, error) {
	cache := filepath.Join(a.DataDir, "cache", "wazero")
	key := fmt.Sprintf("pdf:%s:%s:%d", purpose, cache, a.PDFInstances)
	v, _, err := pool.LoadOrNew(key, func() (caddy.Destructor, error) {
		e, err := extract.NewPDFEngine(context.WithoutCancel(ctx), extract.PDFConfig{CacheDir: cache, MaxTotal: a.PDFInstances, ReuseInstances: reuse})
		if err != nil {
			return nil, err
		}
		return sharedPDF{e}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("starting PDF engine: %w", err)
	}
	a.shared = append(a.shared, keyed{key})
	return v.(sharedPDF).PDFEngine, nil
}

// keyed releases one reference to a pooled resource.
type keyed struct{ key string }

func (k keyed) Destruct() error {
	_, err := pool.Delete(k.key)
	return err
}

// sharedHost owns its metric set: the host outlives any one App (and its
// set) across config reloads.
type sharedHost struct {
	*host.Host
	set *metrics.Set
}

func (s sharedHost) Destruct() error {
	ctx, cancel := context.WithTimeout(context.Background(), hostDrain)
	defer cancel()
	return s.Close(ctx)
}

// hostDrain bounds how long stopping the backends waits for in-flight work.
const hostDrain = 30 * time.Second

// openHost starts the backend plugin host once per folder; config reloads
// share it, so a reload never restarts the backends.
func (a *App) openHost(ctx caddy.Context) (sharedHost, error) {
	dir, err := filepath.Abs(a.BackendsDir)
	if err != nil {
		return sharedHost{}, fmt.Errorf("resolving backends_dir: %w", err)
	}
	key := "host:" + dir
	v, _, err := pool.LoadOrNew(key, func() (caddy.Destructor, error) {
		set := metrics.NewSet()
		h, err := host.New(host.Config{Dir: dir}, a.log.With("component", "backends"), set)
		if err != nil {
			return nil, err
		}
		if err := h.Start(context.WithoutCancel(ctx)); err != nil {
			// A backend that fails to start is reported in health; the
			// others run.
			a.log.Error("starting backends", "error", err)
		}
		return sharedHost{Host: h, set: set}, nil
	})
	if err != nil {
		return sharedHost{}, fmt.Errorf("starting backend host: %w", err)
	}
	a.shared = append(a.shared, keyed{key})
	return v.(sharedHost), nil
}
