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

type config struct {
	RedisAddr, RedisPrefix string
	ConsulAddr             string
	Service, LockKey, Name string
	HTTPAddr               string
	Region, Scorer         string
	AllowSpill             bool
	DeadAfter, LeaseTTL    time.Duration
	Version                bool
}

func parseConfig(args []string) (*config, error) {
	c := &config{}
	host, _ := os.Hostname()
	fs := flag.NewFlagSet("docstrange-scheduler", flag.ContinueOnError)
	fs.StringVar(&c.RedisAddr, "redis", envdefault.String("DOCSTRANGE_REDIS_ADDR", "127.0.0.1:6379"), "Redis host:port holding jobs and queues (DOCSTRANGE_REDIS_ADDR)")
	fs.StringVar(&c.RedisPrefix, "redis-prefix", envdefault.String("DOCSTRANGE_REDIS_PREFIX", "ds:"), "key prefix, the same as the edges' (DOCSTRANGE_REDIS_PREFIX)")
	fs.StringVar(&c.ConsulAddr, "consul", envdefault.String("CONSUL_HTTP_ADDR", "127.0.0.1:8500"), "Consul agent (CONSUL_HTTP_ADDR)")
	fs.StringVar(&c.Service, "worker-service", envdefault.String("DOCSTRANGE_WORKER_SERVICE", nomad.WorkerService), "Consul service of the workers (DOCSTRANGE_WORKER_SERVICE)")
	fs.StringVar(&c.LockKey, "lock-key", envdefault.String("DOCSTRANGE_LOCK_KEY", nomad.LeaderKey), "Consul KV key of the leader lock (DOCSTRANGE_LOCK_KEY)")
	fs.StringVar(&c.Name, "name", envdefault.String("DOCSTRANGE_SCHEDULER_NAME", fmt.Sprintf("%s-%d", host, os.Getpid())), "this replica's name (DOCSTRANGE_SCHEDULER_NAME)")
	fs.StringVar(&c.HTTPAddr, "http", envdefault.String("DOCSTRANGE_HTTP_ADDR", "127.0.0.1:8091"), "address of /health and /metrics (DOCSTRANGE_HTTP_ADDR)")
	fs.StringVar(&c.Region, "region", envdefault.String("DOCSTRANGE_REGION", "local"), "home region (DOCSTRANGE_REGION)")
	fs.StringVar(&c.Scorer, "scorer", envdefault.String("DOCSTRANGE_SCORER", "least-loaded"), "least-loaded | bin-pack (DOCSTRANGE_SCORER)")
	fs.BoolVar(&c.AllowSpill, "allow-spill", os.Getenv("DOCSTRANGE_ALLOW_SPILL") == "true", "place jobs in other regions when home is full (DOCSTRANGE_ALLOW_SPILL=true)")
	fs.DurationVar(&c.DeadAfter, "dead-after", envdefault.Duration("DOCSTRANGE_DEAD_AFTER", dispatch.DefaultDeadAfter), "how long a worker may be gone before its placed jobs go back to the queue (DOCSTRANGE_DEAD_AFTER)")
	fs.DurationVar(&c.LeaseTTL, "lease-ttl", envdefault.Duration("DOCSTRANGE_LEASE_TTL", dispatch.DefaultLeaseTTL), "lease on the queued jobs the leader holds (DOCSTRANGE_LEASE_TTL)")
	fs.BoolVar(&c.Version, "version", false, "print the version and commit, then exit")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return c, nil
}

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
		out := map[string]any{"status": "ok", "replica": cfg.Name, "leader": leading.Load(), "version": buildinfo.Version(version)}
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
	log.Info("scheduler running", "addr", ln.Addr().String(), "consul", cfg.ConsulAddr, "redis", cfg.RedisAddr)

	var wg sync.WaitGroup
	wg.Go(func() { disc.Run(ctx) })
	err = nomad.Lead(ctx, client, cfg.LockKey, cfg.Name, log, func(lctx context.Context) {
		leading.Store(true)
		defer leading.Store(false)
		d.Run(lctx)
	})
	wg.Wait()
	return err
}
