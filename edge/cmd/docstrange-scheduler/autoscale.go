package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/VictoriaMetrics/metrics"
	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/docstrange/mesh/nomad"
	"github.com/docstrange/mesh/scheduler/dispatch"
)

// demand hands the dispatcher's last round to the autoscaler.
type demand struct{ d *dispatch.Dispatcher }

// Demand implements nomad.DemandSource.
func (s demand) Demand(context.Context) (map[string]nomad.Demand, error) {
	out := map[string]nomad.Demand{}
	for class, dd := range s.d.Demand() {
		out[class] = nomad.Demand{Waiting: dd.Waiting, InUse: dd.InUse, Workers: dd.Workers}
	}
	return out, nil
}

// newAutoscaler builds the leader's autoscaler, or nil when no Nomad
// address or no group is configured.
func newAutoscaler(cfg *config, d *dispatch.Dispatcher, log *slog.Logger, set *metrics.Set) (*nomad.Autoscaler, error) {
	if cfg.NomadAddr == "" || len(cfg.ScaleGroups) == 0 {
		log.Info("autoscaling off", "reason", "no NOMAD_ADDR or no -scale-groups")
		return nil, nil
	}
	ncfg := nomadapi.DefaultConfig()
	ncfg.Address = cfg.NomadAddr
	client, err := nomadapi.NewClient(ncfg)
	if err != nil {
		return nil, fmt.Errorf("configuring the nomad client: %w", err)
	}
	return nomad.NewAutoscaler(nomad.AutoscalerConfig{
		Job: cfg.WorkerJob, Groups: cfg.ScaleGroups,
		Every: cfg.ScaleEvery, CoolDown: cfg.ScaleCoolDown, ScaleDownAfter: cfg.ScaleDownAfter,
	}, client.Jobs(), demand{d}, log, set)
}
