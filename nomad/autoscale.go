package nomad

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	nomadapi "github.com/hashicorp/nomad/api"
)

// Defaults of AutoscalerConfig.
const (
	DefaultWorkerJob      = "docstrange-worker"
	DefaultScaleEvery     = 5 * time.Second
	DefaultScaleCoolDown  = 30 * time.Second
	DefaultScaleDownAfter = 60 * time.Second
)

// maxScaleBackoff bounds the wait between steps while Nomad or the demand
// source keeps failing.
const maxScaleBackoff = time.Minute

// Log keys of the autoscaler's records, constant so log queries hold.
const (
	logKeyJob       = "job"
	logKeyGroup     = "group"
	logKeyDevice    = "device"
	logKeyFrom      = "from"
	logKeyTo        = "to"
	logKeyDesired   = "desired"
	logKeyWaiting   = "waiting"
	logKeyInUse     = "in_use"
	logKeyReason    = "reason"
	logKeyDeploy    = "deployment"
	logKeyError     = "error"
	logKeyRetryIn   = "retry_in"
	logKeyDirection = "direction"
)

// Demand is what one device class of workers must serve now.
type Demand struct {
	// Waiting is the jobs the leader holds that wait for capacity on this
	// device class.
	Waiting int
	// InUse is the slots busy or placed on this class's healthy workers.
	InUse int
	// Workers is the healthy workers of this class. The decision does not
	// read it (the group's count is what Nomad runs); it goes into the
	// scale event's meta, so a count that outruns healthy workers shows.
	Workers int
}

// DemandSource reports demand per device class ("cpu", "gpu"). A class it
// leaves out has no demand.
type DemandSource interface {
	Demand(ctx context.Context) (map[string]Demand, error)
}

// ScaleGroup maps a device class to a task group of the worker job.
type ScaleGroup struct {
	// Device is the device class whose demand moves the group: "cpu" or
	// "gpu".
	Device string
	// Group is the task group's name in the job, e.g. "cpu".
	Group string
	// Slots is the job slots of one worker allocation of the group: the
	// job's cpu_slots or gpu_slots.
	Slots int
}

// DefaultScaleGroups are the groups of nomad/jobs/worker.nomad.hcl with its
// default slots. Set AutoscalerConfig.Groups when the job runs with other
// cpu_slots or gpu_slots, or the counts come out wrong by that ratio.
func DefaultScaleGroups() []ScaleGroup {
	return []ScaleGroup{{Device: "cpu", Group: "cpu", Slots: 2}, {Device: "gpu", Group: "gpu", Slots: 4}}
}

// AutoscalerConfig tunes an Autoscaler. A zero duration takes its default;
// a negative one is an error.
type AutoscalerConfig struct {
	// Job is the Nomad job whose groups are scaled. Default:
	// "docstrange-worker".
	Job string
	// Namespace is the job's Nomad namespace. Default: the client's
	// (NOMAD_NAMESPACE, else "default").
	Namespace string
	// Groups are the task groups to scale, one per device class. Default
	// (when nil): DefaultScaleGroups().
	Groups []ScaleGroup
	// Every is the time between evaluations. Default: 5s.
	Every time.Duration
	// CoolDown is how long a group is left alone after the autoscaler
	// scaled it, so the new workers start and register before demand is
	// judged again. Default: 30s.
	CoolDown time.Duration
	// ScaleDownAfter is how long demand must stay below a group's count,
	// continuously, before the group shrinks: a short lull between bursts
	// does not cost a worker's cold start. Default: 60s.
	ScaleDownAfter time.Duration
}

func (c *AutoscalerConfig) setDefaults() error {
	if c.Job == "" {
		c.Job = DefaultWorkerJob
	}
	if c.Groups == nil {
		c.Groups = DefaultScaleGroups()
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{{"every", &c.Every, DefaultScaleEvery}, {"cool_down", &c.CoolDown, DefaultScaleCoolDown}, {"scale_down_after", &c.ScaleDownAfter, DefaultScaleDownAfter}} {
		if *d.v < 0 {
			return fmt.Errorf("configuring the autoscaler: %s is negative (%v)", d.name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if len(c.Groups) == 0 {
		return errors.New("configuring the autoscaler: no groups to scale")
	}
	seen := map[string]bool{}
	for _, g := range c.Groups {
		switch {
		case g.Device != "cpu" && g.Device != "gpu":
			return fmt.Errorf("configuring the autoscaler: group %q: unknown device %q (want cpu or gpu)", g.Group, g.Device)
		case g.Group == "":
			return fmt.Errorf("configuring the autoscaler: the %s group has no name", g.Device)
		case g.Slots < 1:
			return fmt.Errorf("configuring the autoscaler: group %q: slots %d, want at least 1", g.Group, g.Slots)
		case seen["group "+g.Group] || seen["device "+g.Device]:
			// Two groups on one device class would each be sized for all of
			// its demand.
			return fmt.Errorf("configuring the autoscaler: group %q or device %q listed twice", g.Group, g.Device)
		}
		seen["group "+g.Group], seen["device "+g.Device] = true, true
	}
	c.Groups = slices.Clone(c.Groups)
	return nil
}

// JobScaler is the part of Nomad's job API the autoscaler calls; the
// client's Jobs() satisfies it.
type JobScaler interface {
	Info(jobID string, q *nomadapi.QueryOptions) (*nomadapi.Job, *nomadapi.QueryMeta, error)
	LatestDeployment(jobID string, q *nomadapi.QueryOptions) (*nomadapi.Deployment, *nomadapi.QueryMeta, error)
	Scale(jobID, group string, count *int, message string, error bool, meta map[string]any, q *nomadapi.WriteOptions) (*nomadapi.JobRegisterResponse, *nomadapi.WriteMeta, error)
}

// Autoscaler moves the counts of the worker job's task groups with demand,
// within each group's scaling block. Run it on the leader only: two
// autoscalers would each apply their own cool-down.
type Autoscaler struct {
	cfg  AutoscalerConfig
	jobs JobScaler
	src  DemandSource
	log  *slog.Logger

	// mu makes steps one at a time; the state below is theirs.
	mu     sync.Mutex
	groups map[string]*groupState
	// jobSkip is why the whole job was last left alone ("" when it was
	// not), and waited the deployment last waited for: each logged once.
	jobSkip, waited string

	up, down, failed map[string]*metrics.Counter
	desired          map[string]*metrics.Gauge
}

// NewAutoscaler scales cfg's groups through jobs (a client's Jobs()) with
// the demand src reports; set, when non-nil, receives its metrics.
func NewAutoscaler(cfg AutoscalerConfig, jobs JobScaler, src DemandSource, log *slog.Logger, set *metrics.Set) (*Autoscaler, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if jobs == nil || src == nil || log == nil {
		return nil, errors.New("configuring the autoscaler: a Nomad client, a demand source and a logger are required")
	}
	if set == nil {
		set = metrics.NewSet()
	}
	a := &Autoscaler{
		cfg: cfg, jobs: jobs, src: src, log: log.With(logKeyJob, cfg.Job),
		groups: map[string]*groupState{},
		up:     map[string]*metrics.Counter{}, down: map[string]*metrics.Counter{}, failed: map[string]*metrics.Counter{},
		desired: map[string]*metrics.Gauge{},
	}
	for _, g := range cfg.Groups {
		a.groups[g.Group] = &groupState{}
		a.up[g.Group] = set.GetOrCreateCounter(fmt.Sprintf(`docstrange_scheduler_scale_events_total{group=%q,direction="up"}`, g.Group))
		a.down[g.Group] = set.GetOrCreateCounter(fmt.Sprintf(`docstrange_scheduler_scale_events_total{group=%q,direction="down"}`, g.Group))
		a.failed[g.Group] = set.GetOrCreateCounter(fmt.Sprintf(`docstrange_scheduler_scale_failures_total{group=%q}`, g.Group))
		a.desired[g.Group] = set.GetOrCreateGauge(fmt.Sprintf(`docstrange_scheduler_desired_workers{group=%q}`, g.Group), nil)
	}
	return a, nil
}

// Run evaluates every cfg.Every until ctx ends, waiting longer (up to a
// minute) while steps keep failing, so a Nomad outage is not hammered.
// Call it from the function Lead runs, so it stops with the leadership.
func (a *Autoscaler) Run(ctx context.Context) {
	backoff := a.cfg.Every
	for ctx.Err() == nil {
		wait := a.cfg.Every
		if err := a.Step(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			backoff = min(2*backoff, max(a.cfg.Every, maxScaleBackoff))
			wait = backoff
			a.log.WarnContext(ctx, "autoscaling the workers", logKeyError, err, logKeyRetryIn, wait)
		} else {
			backoff = a.cfg.Every
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}
