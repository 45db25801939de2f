package main

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// TestParseEdgeMetrics reads the histograms as the edge writes them (the
// same library): 2xx answers by route, bucket by bucket, and what a turn
// added between two reads.
func TestParseEdgeMetrics(t *testing.T) {
	set := metrics.NewSet()
	me := set.NewHistogram(`docstrange_http_request_duration_seconds{route="GET /api/v1/me",method="GET",status="200"}`)
	denied := set.NewHistogram(`docstrange_http_request_duration_seconds{route="GET /api/v1/me",method="GET",status="429"}`)
	ping := set.NewHistogram(`docstrange_http_request_duration_seconds{route="GET /api/v1/ping",method="GET",status="200"}`)
	set.NewCounter(`docstrange_http_requests_total{route="GET /api/v1/me",method="GET",status="200"}`).Inc()
	read := func() map[string]edgeHistogram {
		t.Helper()
		var b bytes.Buffer
		set.WritePrometheus(&b)
		h, err := parseEdgeMetrics(&b)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	for range 990 {
		me.Update(0.0002)
	}
	for range 10 {
		me.Update(0.005)
	}
	denied.Update(3) // not a success: left out
	ping.Update(0.0001)
	before := read()
	if n := before["GET /api/v1/me"].count(); n != 1000 {
		t.Fatalf("me: %v answers, want the 1000 2xx (%v)", n, before["GET /api/v1/me"])
	}
	if q := before["GET /api/v1/me"].quantile(0.99); q < 200*time.Microsecond || q > 230*time.Microsecond {
		t.Errorf("me p99 = %v; want the 0.2 ms bucket's upper bound", q)
	}
	if q := before["GET /api/v1/me"].quantile(0.999); q < 5*time.Millisecond || q > 6*time.Millisecond {
		t.Errorf("me p99.9 = %v; want the 5 ms bucket's upper bound", q)
	}

	for range 100 {
		ping.Update(0.003)
	}
	turn := read()["GET /api/v1/ping"].since(before["GET /api/v1/ping"])
	if n := turn.count(); n != 100 {
		t.Fatalf("ping turn: %v answers, want 100 (%v)", n, turn)
	}
	if q := turn.quantile(0.5); q < 3*time.Millisecond || q > 3400*time.Microsecond {
		t.Errorf("ping turn p50 = %v; want the 3 ms bucket's upper bound, the earlier 0.1 ms left out", q)
	}
	if q := (edgeHistogram{}).quantile(0.99); q != 0 {
		t.Errorf("empty p99 = %v", q)
	}

	h, err := parseEdgeMetrics(strings.NewReader(`docstrange_http_request_duration_seconds_bucket{route="x",status="200",vmrange="1.000e+18...+Inf"} 3` + "\n"))
	if err != nil || h["x"].quantile(0.5) != time.Duration(math.MaxInt64) {
		t.Errorf("the unbounded bucket: %v, %v", h, err)
	}
	if _, err := parseEdgeMetrics(strings.NewReader(`docstrange_http_request_duration_seconds_bucket{route="x",status="200",vmrange="1e-3...abc"} 3` + "\n")); err == nil {
		t.Error("a bucket bound that is not a number was accepted")
	}
}
