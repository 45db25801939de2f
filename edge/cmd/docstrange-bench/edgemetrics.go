package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The edge times every request itself (docstrange_instrument) into
// docstrange_http_request_duration_seconds, a VictoriaMetrics histogram
// whose buckets (vmrange="lo...hi") are about 12% wide. Read before and
// after a turn, it gives that turn's in-edge latency by route: from the
// first handler to the last byte written, without the time a request
// waits in the client, the kernel's queues or for a CPU before the edge's
// goroutine reads it. On a machine the bench shares with the edge, that
// waiting is most of an end-to-end p99 and moves by tens of milliseconds
// from one turn to the next under the same load. The verdict judges end
// to end, as a client sees it; the handlers' own time, printed beside it,
// tells what the chain's code adds from what the machine adds around it.
const edgeDurationBuckets = "docstrange_http_request_duration_seconds_bucket"

// edgeHistogram is one route's successful requests, counted by their
// bucket's upper bound in seconds.
type edgeHistogram map[float64]float64

// parseEdgeMetrics reads the edge's /metrics page and returns each route's
// histogram of 2xx answers.
func parseEdgeMetrics(r io.Reader) (map[string]edgeHistogram, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parsing the edge's metrics: %w", err)
	}
	out := map[string]edgeHistogram{}
	fam := fams[edgeDurationBuckets]
	if fam == nil {
		return out, nil
	}
	for _, m := range fam.GetMetric() {
		var route, status, vmrange string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "route":
				route = l.GetValue()
			case "status":
				status = l.GetValue()
			case "vmrange":
				vmrange = l.GetValue()
			}
		}
		lo, hi, ok := strings.Cut(vmrange, "...")
		if !ok || !strings.HasPrefix(status, "2") {
			continue
		}
		up, err := strconv.ParseFloat(hi, 64)
		if err == nil && math.IsInf(up, 1) {
			// The last bucket has no upper bound: its lower one is the
			// most that can be said.
			up, err = strconv.ParseFloat(lo, 64)
		}
		if err != nil {
			return nil, fmt.Errorf("parsing the edge's metrics: bucket %q: %w", vmrange, err)
		}
		if out[route] == nil {
			out[route] = edgeHistogram{}
		}
		// VictoriaMetrics declares no type for its vmrange buckets.
		out[route][up] += m.GetUntyped().GetValue()
	}
	return out, nil
}

// since is what h counted after before was read.
func (h edgeHistogram) since(before edgeHistogram) edgeHistogram {
	d := edgeHistogram{}
	for up, n := range h {
		if n -= before[up]; n > 0 {
			d[up] = n
		}
	}
	return d
}

func (h edgeHistogram) count() float64 {
	var n float64
	for _, c := range h {
		n += c
	}
	return n
}

// quantile is the upper bound of the bucket that holds the q-quantile: at
// most one bucket's width (about 12%) above the true value, never below.
// 0 for an empty histogram.
func (h edgeHistogram) quantile(q float64) time.Duration {
	n := h.count()
	if n == 0 {
		return 0
	}
	ups := slices.Sorted(maps.Keys(h))
	rank, seen := math.Ceil(q*n), 0.0
	for _, up := range ups {
		if seen += h[up]; seen >= rank {
			return seconds(up)
		}
	}
	return seconds(ups[len(ups)-1])
}

// seconds is s as a Duration, the longest one past its range.
func seconds(s float64) time.Duration {
	if s >= float64(math.MaxInt64)/float64(time.Second) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(s * float64(time.Second))
}

// inEdgeMS is a phase's latency as the edge timed it.
type inEdgeMS struct {
	Count float64 `json:"count"`
	P50   float64 `json:"p50"`
	P99   float64 `json:"p99"`
	// TurnsP99 is each turn's own p99, in turn order; absent for one
	// stretch.
	TurnsP99 []float64 `json:"turns_p99,omitempty"`
}

// scrapeEdge reads the edge's /metrics page.
func (c *apiClient) scrapeEdge(ctx context.Context) (map[string]edgeHistogram, error) {
	req, err := c.newRequest(ctx, http.MethodGet, c.metrics, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading the edge's metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading the edge's metrics: %s", resp.Status)
	}
	return parseEdgeMetrics(resp.Body)
}
