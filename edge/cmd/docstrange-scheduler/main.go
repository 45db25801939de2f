// Command docstrange-scheduler places queued jobs on worker allocations.
// Several replicas run (nomad/jobs/scheduler.nomad.hcl); one leads through
// a Consul lock and runs the dispatch loop (scheduler/dispatch), the others
// wait to take over. Workers come from Consul's health of the
// docstrange-worker service; each takes the jobs placed on its own queue
// (docstrange-worker -queue assigned).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/VictoriaMetrics/metrics"
	consul "github.com/hashicorp/consul/api"

	"github.com/docstrange/mesh/internal/buildinfo"
	"github.com/docstrange/mesh/internal/envdefault"
	"github.com/docstrange/mesh/nomad"
	"github.com/docstrange/mesh/scheduler/dispatch"
	"github.com/docstrange/mesh/scheduler/redisstore"
)

// version is stamped by make through -ldflags -X.
var version string

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	cfg, err := parseConfig(args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "docstrange-scheduler:", err)
		return 2
	}
	if cfg.Version {
		fmt.Println("docstrange-scheduler", buildinfo.Version(version))
		return 0
	}
	level := slog.LevelInfo
	if err := level.UnmarshalText([]byte(envdefault.String("DOCSTRANGE_LOG_LEVEL", "info"))); err != nil {
		fmt.Fprintln(os.Stderr, "docstrange-scheduler: DOCSTRANGE_LOG_LEVEL:", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("component", "scheduler", "replica", cfg.Name, "region", cfg.Region)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("scheduler stopped", "error", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, cfg *config, log *slog.Logger) error {
	store, err := redisstore.New(ctx, redisstore.Config{Addr: cfg.RedisAddr, Prefix: cfg.RedisPrefix})
	if err != nil {
		return fmt.Errorf("connecting to redis %s: %w", cfg.RedisAddr, err)
	}
	defer store.Close()
	ccfg := consul.DefaultConfig()
	ccfg.Address = cfg.ConsulAddr
	client, err := consul.NewClient(ccfg)
	if err != nil {
		return fmt.Errorf("configuring consul: %w", err)
	}
	set := metrics.NewSet()
	disc := nomad.NewDiscovery(client, cfg.Service, log.With("part", "discovery"))
	d, err := dispatch.New(dispatch.Config{
		Name: cfg.Name, LeaseTTL: cfg.LeaseTTL, DeadAfter: cfg.DeadAfter, Region: cfg.Region, AllowSpill: cfg.AllowSpill, Scorer: cfg.Scorer,
	}, store, dispatch.RedisQueues{Store: store}, disc, log.With("part", "dispatch"), set)
	if err != nil {
		return err
	}
	scaler, err := newAutoscaler(cfg, d, log.With("part", "autoscaler"), set)
	if err != nil {
		return err
	}
	var leading atomic.Bool
	set.NewGauge("docstrange_scheduler_leader", func() float64 {
		if leading.Load() {
			return 1
		}
		return 0
	})
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.HTTPAddr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		status := http.StatusOK
		out := map[string]any{"status": "ok", "replica": cfg.Name, "leader": leading.Load(), "version": buildinfo.Version(version), "pid": os.Getpid()}
		pctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := store.Ping(pctx); err != nil {
			status, out["status"], out["redis"] = http.StatusServiceUnavailable, "unavailable", err.Error()
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		set.WritePrometheus(w)
		metrics.WriteProcessMetrics(w)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	log.Info("scheduler running", "addr", ln.Addr().String(), "consul", cfg.ConsulAddr, "redis", cfg.RedisAddr, "nomad", cfg.NomadAddr)

	var wg sync.WaitGroup
	wg.Go(func() { disc.Run(ctx) })
	err = nomad.Lead(ctx, client, cfg.LockKey, cfg.Name, log, func(lctx context.Context) {
		leading.Store(true)
		defer leading.Store(false)
		var lwg sync.WaitGroup
		if scaler != nil {
			lwg.Go(func() { scaler.Run(lctx) })
		}
		d.Run(lctx)
		lwg.Wait()
	})
	wg.Wait()
	return err
}
