package docstrange

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/docstrange/mesh/scheduler"
)

// Metrics is the app's metric set; /metrics writes it.
type Metrics struct {
	set *metrics.Set
	// extra is a set owned by a longer-lived component (the backend
	// host), written with this one.
	extra      *metrics.Set
	jobs       queueStats
	uploadSize *metrics.Counter

	// series holds the request counter and histogram of each route,
	// method and status seen, so that a request looks its pair up by a
	// comparable key instead of formatting two metric names.
	mu     sync.RWMutex
	series map[seriesKey]requestSeries
}

type seriesKey struct {
	route, method string
	status        int
}

type requestSeries struct {
	count *metrics.Counter
	took  *metrics.Histogram
}

// queueStats reads the backlog behind the queue gauges.
type queueStats interface {
	Stats(ctx context.Context) (scheduler.QueueStats, error)
}

// statsTimeout bounds the queue read behind the gauges, so a dead Redis
// cannot hang a scrape.
const statsTimeout = 2 * time.Second

// newMetrics builds the set; ctx bounds the queue reads behind the gauges.
func newMetrics(ctx context.Context, jobs queueStats) *Metrics {
	m := &Metrics{set: metrics.NewSet(), jobs: jobs, series: map[seriesKey]requestSeries{}}
	m.uploadSize = m.set.NewCounter("docstrange_upload_bytes_total")
	stat := func(pick func(scheduler.QueueStats) float64) func() float64 {
		return func() float64 {
			ctx, cancel := context.WithTimeout(ctx, statsTimeout)
			defer cancel()
			st, err := m.jobs.Stats(ctx)
			if err != nil {
				return -1
			}
			return pick(st)
		}
	}
	m.set.NewGauge("docstrange_queue_depth", stat(func(s scheduler.QueueStats) float64 { return float64(s.Depth) }))
	m.set.NewGauge("docstrange_queue_oldest_age_seconds", stat(func(s scheduler.QueueStats) float64 { return s.OldestAge.Seconds() }))
	m.set.NewGauge("docstrange_worker_slots_in_use", stat(func(s scheduler.QueueStats) float64 { return float64(s.Leased) }))
	for _, st := range []scheduler.Status{scheduler.StatusSucceeded, scheduler.StatusFailed, scheduler.StatusCanceled} {
		m.set.GetOrCreateCounter(fmt.Sprintf(`docstrange_jobs_total{state=%q}`, st))
	}
	return m
}

func (m *Metrics) unregister() { m.set.UnregisterAllMetrics() }

// JobFinished implements worker.Observer.
func (m *Metrics) JobFinished(st scheduler.Status, d time.Duration) {
	m.set.GetOrCreateCounter(fmt.Sprintf(`docstrange_jobs_total{state=%q}`, st)).Inc()
	if d > 0 {
		m.set.GetOrCreateHistogram(fmt.Sprintf(`docstrange_job_duration_seconds{state=%q}`, st)).Update(d.Seconds())
	}
}

// LeaseExpired implements worker.Observer.
func (m *Metrics) LeaseExpired() {
	m.set.GetOrCreateCounter("docstrange_worker_lease_expiries_total").Inc()
}

// JobAccepted counts an accepted submission.
func (m *Metrics) JobAccepted(size int64) {
	m.set.GetOrCreateCounter(`docstrange_jobs_accepted_total`).Inc()
	m.uploadSize.Add(int(size))
}

// Request records one HTTP request. A method outside RFC 9110's is
// counted as "other": HTTP lets a client send any token as its method,
// and each would otherwise be a new series for as long as the edge runs.
func (m *Metrics) Request(route, method string, status int, d time.Duration) {
	k := seriesKey{route: route, method: metricMethod(method), status: status}
	m.mu.RLock()
	s, ok := m.series[k]
	m.mu.RUnlock()
	if !ok {
		s = requestSeries{
			count: m.set.GetOrCreateCounter(fmt.Sprintf(`docstrange_http_requests_total{route=%q,method=%q,status="%d"}`, k.route, k.method, k.status)),
			took:  m.set.GetOrCreateHistogram(fmt.Sprintf(`docstrange_http_request_duration_seconds{route=%q,method=%q,status="%d"}`, k.route, k.method, k.status)),
		}
		m.mu.Lock()
		m.series[k] = s
		m.mu.Unlock()
	}
	s.count.Inc()
	s.took.Update(d.Seconds())
}

// metricMethod is method as a metric label: itself when RFC 9110 defines
// it (or PATCH), else "other".
func metricMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// WritePrometheus writes the set and the process metrics.
func (m *Metrics) WritePrometheus(w io.Writer) {
	m.set.WritePrometheus(w)
	if m.extra != nil {
		m.extra.WritePrometheus(w)
	}
	metrics.WriteProcessMetrics(w)
}

// Denied counts a policy denial by tier and reason.
func (m *Metrics) Denied(tier, reason string) {
	m.set.GetOrCreateCounter(fmt.Sprintf(`docstrange_authz_denials_total{tier=%q,reason=%q}`, tier, reason)).Inc()
}

// Limited counts a rate-limit or quota rejection by tier; code is
// RATE_LIMIT_EXCEEDED or QUOTA_EXCEEDED.
func (m *Metrics) Limited(tier, code string) {
	m.set.GetOrCreateCounter(fmt.Sprintf(`docstrange_ratelimit_rejections_total{tier=%q,code=%q}`, tier, code)).Inc()
}

// AuthFailed counts a refused credential by kind (api_key, bearer, header).
func (m *Metrics) AuthFailed(kind string) {
	m.set.GetOrCreateCounter(fmt.Sprintf(`docstrange_authn_failures_total{kind=%q}`, kind)).Inc()
}

// StoreError counts a failing rate-limit or quota store call by what
// happened to the request (closed: refused, open: let through).
func (m *Metrics) StoreError(mode string) {
	m.set.GetOrCreateCounter(fmt.Sprintf(`docstrange_ratelimit_store_errors_total{mode=%q}`, mode)).Inc()
}

// DedupeHit counts a submission answered from an earlier result.
func (m *Metrics) DedupeHit() {
	m.set.GetOrCreateCounter(`docstrange_dedupe_hits_total`).Inc()
}
