package main

import (
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{name: "none", in: nil, want: 0},
		{name: "one", in: []float64{3}, want: 3},
		{name: "two: the mean", in: []float64{100, 110}, want: 105},
		{name: "odd, unsorted", in: []float64{5, 1, 3}, want: 3},
		{name: "even, unsorted", in: []float64{9, 1, 5, 3}, want: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := median(tt.in); got != tt.want {
				t.Errorf("median(%v) = %g, want %g", tt.in, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	yes, no := true, false
	uploads := []uploadResult{
		{Server: serverEdge, Bytes: 1 << 30, MBps: 100, Seconds: 10.7, ServerCPU: 4, Complete: true, Intact: &yes, RSS: &rssStats{Growth: 5 << 20}},
		{Server: serverTusd, Bytes: 1 << 30, MBps: 120, Seconds: 8.9, ServerCPU: 3, Complete: true, Intact: &yes, RSS: &rssStats{Growth: 1 << 20}},
		{Server: serverEdge, Bytes: 1 << 30, MBps: 110, Seconds: 9.8, ServerCPU: 6, Complete: true, Intact: &yes, RSS: &rssStats{Growth: 9 << 20}},
		// Fast but corrupt: counts for memory, not for speed.
		{Server: serverEdge, Bytes: 1 << 30, MBps: 500, Seconds: 2, Complete: true, Intact: &no, RSS: &rssStats{Growth: 2 << 20}},
		// A warmup: counts for memory and integrity, not for speed.
		{Server: serverEdge, Warmup: true, Bytes: 1 << 30, MBps: 50, Seconds: 21, ServerCPU: 9, Complete: true, Intact: &yes, RSS: &rssStats{Growth: 12 << 20}},
	}
	got := summarize(uploads, serverEdge)
	want := serverSummary{Uploads: 4, OK: 3, Timed: 2, Hashed: 4, MedianMBps: 105, BestMBps: 110, MedianSeconds: 10.25, CPUPerGiB: 5, MaxRSSGrowth: 12 << 20, RSSMeasured: true}
	if got != want {
		t.Errorf("summarize(edge) = %+v, want %+v", got, want)
	}
}

func TestVerdict(t *testing.T) {
	const limit = 100 << 20
	good := serverSummary{Uploads: 2, OK: 2, Timed: 2, Hashed: 2, MedianMBps: 95, BestMBps: 96, MaxRSSGrowth: 10 << 20, RSSMeasured: true}
	tusd := serverSummary{Uploads: 2, OK: 2, Timed: 2, Hashed: 2, MedianMBps: 100, BestMBps: 101, MaxRSSGrowth: 3 << 20, RSSMeasured: true}
	with := func(f func(*serverSummary)) serverSummary {
		s := good
		f(&s)
		return s
	}
	tests := []struct {
		name     string
		edge     serverSummary
		tusd     serverSummary
		wantFail []string // names of the failing checks
		wantText string
	}{
		{name: "all met", edge: good, tusd: tusd, wantText: "0.950 of tusd's"},
		{name: "exactly the ratio passes", edge: with(func(s *serverSummary) { s.MedianMBps = 90 }), tusd: tusd},
		{name: "too slow", edge: with(func(s *serverSummary) { s.MedianMBps = 89.9 }), tusd: tusd, wantFail: []string{"throughput"}},
		{name: "exactly the RSS limit fails", edge: with(func(s *serverSummary) { s.MaxRSSGrowth = limit }), tusd: tusd, wantFail: []string{"memory"}},
		{name: "RSS not measured", edge: with(func(s *serverSummary) { s.RSSMeasured = false }), tusd: tusd, wantFail: []string{"memory"}, wantText: "not measured"},
		{name: "one edge upload corrupt", edge: with(func(s *serverSummary) { s.OK, s.Timed = 1, 1 }), tusd: tusd, wantFail: []string{"integrity"}},
		{
			name: "no edge upload at all", edge: with(func(s *serverSummary) { s.OK, s.Timed, s.MedianMBps = 0, 0, 0 }), tusd: tusd,
			wantFail: []string{"throughput", "integrity"}, wantText: "nothing to compare",
		},
		{name: "not hashed is said", edge: with(func(s *serverSummary) { s.Hashed = 0 }), tusd: tusd, wantText: "not hashed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks := verdict(tt.edge, tt.tusd, 0.9, limit)
			var failed []string
			var text strings.Builder
			for _, c := range checks {
				if !c.OK {
					failed = append(failed, c.Name)
				}
				text.WriteString(c.Detail + "\n")
			}
			if strings.Join(failed, ",") != strings.Join(tt.wantFail, ",") {
				t.Errorf("failed checks %v, want %v\n%s", failed, tt.wantFail, text.String())
			}
			if !strings.Contains(text.String(), tt.wantText) {
				t.Errorf("details do not mention %q:\n%s", tt.wantText, text.String())
			}
		})
	}
}
