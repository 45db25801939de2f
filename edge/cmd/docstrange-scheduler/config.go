package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/docstrange/mesh/internal/envdefault"
	"github.com/docstrange/mesh/nomad"
	"github.com/docstrange/mesh/scheduler/dispatch"
)

// config is the scheduler's settings: flags, each defaulting to an
// environment variable, so a Nomad task sets them with env.
type config struct {
	RedisAddr, RedisPrefix string
	ConsulAddr             string
	Service, LockKey, Name string
	HTTPAddr               string
	Region, Scorer         string
	AllowSpill             bool
	DeadAfter, LeaseTTL    time.Duration
	// NomadAddr turns the autoscaler on; empty leaves group counts alone.
	NomadAddr string
	// WorkerJob is the Nomad job whose groups are scaled.
	WorkerJob string
	// ScaleGroups are the groups to scale, "" for none.
	ScaleGroups                               []nomad.ScaleGroup
	ScaleEvery, ScaleCoolDown, ScaleDownAfter time.Duration
	Version                                   bool
}

func parseConfig(args []string) (*config, error) {
	c := &config{}
	host, _ := os.Hostname()
	var groups string
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
	fs.StringVar(&c.NomadAddr, "nomad", os.Getenv("NOMAD_ADDR"), "Nomad API address; set, the leader scales the worker groups (NOMAD_ADDR; NOMAD_TOKEN and NOMAD_NAMESPACE are read too)")
	fs.StringVar(&c.WorkerJob, "worker-job", envdefault.String("DOCSTRANGE_WORKER_JOB", nomad.DefaultWorkerJob), "Nomad job of the workers (DOCSTRANGE_WORKER_JOB)")
	fs.StringVar(&groups, "scale-groups", envdefault.String("DOCSTRANGE_SCALE_GROUPS", "cpu:2,gpu:4"), "groups to scale as group:slots, the group named for its device class cpu or gpu; empty for none (DOCSTRANGE_SCALE_GROUPS)")
	fs.DurationVar(&c.ScaleEvery, "scale-every", envdefault.Duration("DOCSTRANGE_SCALE_EVERY", nomad.DefaultScaleEvery), "time between autoscaler evaluations (DOCSTRANGE_SCALE_EVERY)")
	fs.DurationVar(&c.ScaleCoolDown, "scale-cooldown", envdefault.Duration("DOCSTRANGE_SCALE_COOLDOWN", nomad.DefaultScaleCoolDown), "how long a group is left alone after a scale event (DOCSTRANGE_SCALE_COOLDOWN)")
	fs.DurationVar(&c.ScaleDownAfter, "scale-down-after", envdefault.Duration("DOCSTRANGE_SCALE_DOWN_AFTER", nomad.DefaultScaleDownAfter), "how long demand stays below a group's count before it shrinks (DOCSTRANGE_SCALE_DOWN_AFTER)")
	fs.BoolVar(&c.Version, "version", false, "print the version and commit, then exit")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	g, err := parseScaleGroups(groups)
	if err != nil {
		return nil, err
	}
	c.ScaleGroups = g
	return c, nil
}

// parseScaleGroups reads "cpu:2,gpu:4": each group of the worker job named
// for its device class, with the job slots of one of its workers.
func parseScaleGroups(v string) ([]nomad.ScaleGroup, error) {
	var out []nomad.ScaleGroup
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, slots, ok := strings.Cut(part, ":")
		n, err := strconv.Atoi(slots)
		if !ok || err != nil || n < 1 || (name != "cpu" && name != "gpu") {
			return nil, fmt.Errorf("-scale-groups: %q: want cpu:SLOTS or gpu:SLOTS, slots at least 1", part)
		}
		out = append(out, nomad.ScaleGroup{Device: name, Group: name, Slots: n})
	}
	return out, nil
}
