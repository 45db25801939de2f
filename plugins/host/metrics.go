package host

import (
	"fmt"

	"github.com/VictoriaMetrics/metrics"
)

// hostMetrics writes the host's metrics into a set the caller owns.
type hostMetrics struct {
	set *metrics.Set
}

// register creates backend name's series, so they read 0 before anything
// happens, and its in-flight gauge.
func (m hostMetrics) register(name string, inFlight func() int) {
	m.set.GetOrCreateGauge(fmt.Sprintf(`docstrange_backend_in_flight{backend=%q}`, name), func() float64 {
		return float64(inFlight())
	})
	m.restarts(name)
	m.set.GetOrCreateCounter(fmt.Sprintf(`docstrange_backend_restart_failures_total{backend=%q}`, name))
	m.swaps(name, true)
	m.swaps(name, false)
	m.retries(name)
}

func (m hostMetrics) restarts(name string) *metrics.Counter {
	return m.set.GetOrCreateCounter(fmt.Sprintf(`docstrange_backend_restarts_total{backend=%q}`, name))
}

func (m hostMetrics) swaps(name string, ok bool) *metrics.Counter {
	result := "ok"
	if !ok {
		result = "failed"
	}
	return m.set.GetOrCreateCounter(fmt.Sprintf(`docstrange_backend_swaps_total{backend=%q,result=%q}`, name, result))
}

func (m hostMetrics) retries(name string) *metrics.Counter {
	return m.set.GetOrCreateCounter(fmt.Sprintf(`docstrange_backend_retries_total{backend=%q}`, name))
}

func (m hostMetrics) restart(name string)       { m.restarts(name).Inc() }
func (m hostMetrics) swap(name string, ok bool) { m.swaps(name, ok).Inc() }
func (m hostMetrics) retry(name string)         { m.retries(name).Inc() }
func (m hostMetrics) restartFailed(name string) {
	m.set.GetOrCreateCounter(fmt.Sprintf(`docstrange_backend_restart_failures_total{backend=%q}`, name)).Inc()
}
