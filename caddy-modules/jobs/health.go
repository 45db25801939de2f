package jobs

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/docstrange/mesh/api"
)

// healthTimeout bounds each dependency probe.
const healthTimeout = 2 * time.Second

// live is GET /api/v1/health/live: the process serves HTTP.
func (h *Handler) live(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.Health{Status: "ok"})
}

// ready is GET /api/v1/health/ready: 200 only when a job submitted now
// would be stored and run.
func (h *Handler) ready(w http.ResponseWriter, r *http.Request) {
	hl := h.check(r.Context())
	status := http.StatusOK
	if hl.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, api.Health{Status: hl.Status})
}

// health is GET /api/v1/health: every component's state.
func (h *Handler) health(w http.ResponseWriter, r *http.Request) {
	hl := h.check(r.Context())
	status := http.StatusOK
	if hl.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, hl)
}

func (h *Handler) check(ctx context.Context) api.Health {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	hl := api.Health{Status: "ok", Version: caddy.CustomVersion, Components: map[string]api.ComponentHealth{}}
	set := func(name string, err error, detail map[string]any) {
		c := api.ComponentHealth{Status: "ok", Detail: detail}
		if err != nil {
			c.Status, c.Error, hl.Status = "down", err.Error(), "degraded"
		}
		hl.Components[name] = c
	}
	set("store", h.app.Jobs().Ping(ctx), map[string]any{"kind": h.app.Store})
	set("storage", h.app.Blobs().Ping(ctx), nil)
	st, err := h.app.Jobs().Stats(ctx)
	set("scheduler", err, map[string]any{"queue_depth": st.Depth, "running": st.Leased, "oldest_age_seconds": st.OldestAge.Seconds()})
	workers := map[string]any{"embedded": h.app.Workers}
	var werr error
	if !h.app.WorkersRunning() && h.app.Workers > 0 {
		werr = errNoWorkers
	}
	set("workers", werr, workers)
	backends := map[string]any{"pdf": "pdfium-wasm"}
	for _, st := range h.app.Backends() {
		backends[st.Name] = map[string]any{
			"state": st.State, "version": st.Version, "health": st.Health.Status.String(), "detail": st.Health.Detail,
			"providers_requested": st.Providers.Requested, "providers_active": st.Providers.Active,
			"provider_reason": st.Providers.Reason, "restarts": st.RestartCount, "swaps": st.SwapCount, "pid": st.PID,
		}
	}
	berr := h.app.PDF().Ping(ctx)
	if berr == nil && h.app.BackendsDir != "" && !h.app.OCRAvailable() {
		berr = errNoOCR
	}
	set("backends", berr, backends)
	return hl
}

var errNoWorkers = errors.New("no worker is consuming the queue")

var errNoOCR = errors.New("the OCR backend is not serving")
