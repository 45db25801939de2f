package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStatus(t *testing.T) {
	fixture, err := os.ReadFile("testdata/proc-status.txt")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      string
		want    memStatus
		wantErr bool
	}{
		{name: "real status file", in: string(fixture), want: memStatus{rss: 48120 << 10, hwm: 52348 << 10}},
		{name: "no VmHWM", in: "Name:\tx\nVmRSS:\t  10 kB\n", want: memStatus{rss: 10 << 10}},
		{name: "no VmRSS (kernel thread)", in: "Name:\tkthreadd\nState:\tS (sleeping)\n", wantErr: true},
		{name: "unit not kB", in: "VmRSS:\t 10 MB\n", wantErr: true},
		{name: "not a number", in: "VmRSS:\t ten kB\n", wantErr: true},
		{name: "VmRSSx is not VmRSS", in: "VmRSSx:\t 10 kB\nVmRSS:\t 20 kB\n", want: memStatus{rss: 20 << 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatus(strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseStatus error = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("parseStatus = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRSSGrowth(t *testing.T) {
	tests := []struct {
		name                   string
		before, maxSample, hwm int64
		want                   int64
	}{
		{name: "samples only", before: 50, maxSample: 80, want: 30},
		{name: "peak between samples", before: 50, maxSample: 80, hwm: 120, want: 70},
		{name: "peak below the samples", before: 50, maxSample: 80, hwm: 60, want: 30},
		{name: "shrank", before: 50, maxSample: 50, hwm: 0, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rssGrowth(tt.before, tt.maxSample, tt.hwm); got != tt.want {
				t.Errorf("rssGrowth(%d, %d, %d) = %d, want %d", tt.before, tt.maxSample, tt.hwm, got, tt.want)
			}
		})
	}
}

func TestSamplerSeesAllocation(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	s, err := startRSS(context.Background(), os.Getpid(), 5*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	// 64 MiB touched page by page, held until the sampler stops.
	buf := make([]byte, 64<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	time.Sleep(30 * time.Millisecond)
	stats, measured, err := s.stop()
	if err != nil || !measured {
		t.Fatalf("stop() = %+v, %v, %v", stats, measured, err)
	}
	if stats.Samples < 2 {
		t.Errorf("%d samples, want at least 2", stats.Samples)
	}
	if stats.Growth < 48<<20 {
		t.Errorf("growth %d bytes after touching 64 MiB, want at least 48 MiB (%+v)", stats.Growth, stats)
	}
	_ = buf[len(buf)-1]
}

func TestSamplerWithoutPID(t *testing.T) {
	s, err := startRSS(context.Background(), 0, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if _, measured, err := s.stop(); measured || err != nil {
		t.Errorf("stop() measured %v, %v; want nothing measured", measured, err)
	}
}
