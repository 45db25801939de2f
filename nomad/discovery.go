// Package nomad holds the job specs (jobs/) and the thin Consul and Nomad
// client wrappers the scheduler uses: worker discovery from Consul's health
// with blocking queries, and leader election through a Consul lock.
package nomad

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	consul "github.com/hashicorp/consul/api"

	"github.com/docstrange/mesh/scheduler/placement"
)

// WorkerService is the Consul service every worker allocation registers
// (nomad/jobs/worker.nomad.hcl).
const WorkerService = "docstrange-worker"

// ErrNoSnapshot is Workers before the first query answered.
var ErrNoSnapshot = errors.New("no answer from Consul yet")

// Discovery keeps the healthy worker allocations from Consul: a blocking
// query on the service's passing instances, so a change shows within a
// moment and an idle cluster costs one open request.
type Discovery struct {
	client  *consul.Client
	service string
	log     *slog.Logger

	mu      sync.Mutex
	workers []placement.Worker
	ok      bool
	err     error
}

// NewDiscovery watches service (WorkerService unless given) through client.
func NewDiscovery(client *consul.Client, service string, log *slog.Logger) *Discovery {
	if service == "" {
		service = WorkerService
	}
	return &Discovery{client: client, service: service, log: log}
}

// Run keeps the snapshot current until ctx ends, backing off after errors.
func (d *Discovery) Run(ctx context.Context) {
	var index uint64
	backoff := 250 * time.Millisecond
	for ctx.Err() == nil {
		opts := (&consul.QueryOptions{WaitIndex: index, WaitTime: 30 * time.Second}).WithContext(ctx)
		entries, meta, err := d.client.Health().Service(d.service, "", true, opts)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d.mu.Lock()
			d.err = err
			d.mu.Unlock()
			d.log.WarnContext(ctx, "watching workers in Consul", "error", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 10*time.Second)
			continue
		}
		backoff = 250 * time.Millisecond
		// An index that goes backwards (a Consul restart) restarts the
		// watch rather than block on a future index.
		if meta.LastIndex < index {
			index = 0
		} else {
			index = meta.LastIndex
		}
		ws := Workers(entries)
		d.mu.Lock()
		d.workers, d.ok, d.err = ws, true, nil
		d.mu.Unlock()
	}
}

// Workers returns the latest snapshot.
func (d *Discovery) Workers(ctx context.Context) ([]placement.Worker, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.ok {
		if d.err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoSnapshot, d.err)
		}
		return nil, ErrNoSnapshot
	}
	return slices.Clone(d.workers), nil
}

// Workers turns passing service instances into placement workers from the
// meta each registers: device, slots, backends, region and alloc_id (the
// worker's id and queue name; the service id when absent). An instance with
// unusable meta is left out rather than guessed at.
func Workers(entries []*consul.ServiceEntry) []placement.Worker {
	var out []placement.Worker
	for _, e := range entries {
		if e.Service == nil {
			continue
		}
		m := e.Service.Meta
		slots, err := strconv.Atoi(m["slots"])
		if err != nil || slots < 1 {
			continue
		}
		device := m["device"]
		if device != "cpu" && device != "gpu" {
			continue
		}
		id := m["alloc_id"]
		if id == "" {
			id = e.Service.ID
		}
		w := placement.Worker{ID: id, Device: device, Slots: slots, Region: m["region"]}
		if e.Node != nil {
			w.Node = e.Node.Node
		}
		for b := range strings.SplitSeq(m["backends"], ",") {
			if b = strings.TrimSpace(b); b != "" {
				w.Backends = append(w.Backends, b)
			}
		}
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b placement.Worker) int { return strings.Compare(a.ID, b.ID) })
	return out
}
