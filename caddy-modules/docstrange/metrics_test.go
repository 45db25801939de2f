package docstrange

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docstrange/mesh/scheduler"
)

type noStats struct{}

func (noStats) Stats(context.Context) (scheduler.QueueStats, error) {
	return scheduler.QueueStats{}, nil
}

func TestRequestMetrics(t *testing.T) {
	m := newMetrics(context.Background(), noStats{})
	defer m.unregister()
	for range 3 {
		m.Request("GET /api/v1/me", "GET", 200, 2*time.Millisecond)
	}
	m.Request("GET /api/v1/me", "GET", 429, time.Millisecond)
	// Made-up methods share one series.
	for i := range 50 {
		m.Request("unmatched", fmt.Sprintf("SCAN%d", i), 405, time.Millisecond)
	}

	var out bytes.Buffer
	m.WritePrometheus(&out)
	text := out.String()
	for _, want := range []string{
		`docstrange_http_requests_total{route="GET /api/v1/me",method="GET",status="200"} 3`,
		`docstrange_http_requests_total{route="GET /api/v1/me",method="GET",status="429"} 1`,
		`docstrange_http_requests_total{route="unmatched",method="other",status="405"} 50`,
		`docstrange_http_request_duration_seconds_count{route="GET /api/v1/me",method="GET",status="200"} 3`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("missing %s", want)
		}
	}
	if strings.Contains(text, "SCAN") {
		t.Error("a made-up method became a label")
	}
	if len(m.series) != 3 {
		t.Errorf("%d series kept, want 3", len(m.series))
	}
}
