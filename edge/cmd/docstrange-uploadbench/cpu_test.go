package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParsePidStat(t *testing.T) {
	fixture, err := os.ReadFile("testdata/pid-stat.txt")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr bool
	}{
		{name: "name with spaces and parentheses", in: string(fixture), want: 187 * clockTick},
		{name: "truncated", in: "1 (x) S 0 1 1 0 -1 0 0", wantErr: true},
		{name: "no name", in: "1 x S", wantErr: true},
		{name: "not a number", in: "1 (x) S 0 1 1 0 -1 0 0 0 0 0 a 1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePidStat(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parsePidStat error = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("parsePidStat = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParseProcStat(t *testing.T) {
	f, err := os.Open("testdata/proc-stat.txt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	got, err := parseProcStat(f)
	if err != nil {
		t.Fatal(err)
	}
	// user+nice+system+irq+softirq+steal; idle and iowait are not busy.
	want := machineStat{busy: 655601 + 80179 + 5456 + 11119, total: 655601 + 80179 + 177504 + 1925 + 5456 + 11119, cpus: 2}
	if got != want {
		t.Errorf("parseProcStat = %+v, want %+v", got, want)
	}
	if _, err := parseProcStat(strings.NewReader("intr 1 2\n")); err == nil {
		t.Error("parseProcStat without cpu lines: want an error")
	}
}

func TestBusyFraction(t *testing.T) {
	tests := []struct {
		name string
		a, b machineStat
		want float64
	}{
		{name: "half busy", a: machineStat{busy: 100, total: 200}, b: machineStat{busy: 150, total: 300}, want: 0.5},
		{name: "no time passed", a: machineStat{busy: 100, total: 200}, b: machineStat{busy: 100, total: 200}, want: -1},
		{name: "counter went back", a: machineStat{busy: 100, total: 200}, b: machineStat{busy: 90, total: 300}, want: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := busyFraction(tt.a, tt.b); got != tt.want {
				t.Errorf("busyFraction = %g, want %g", got, tt.want)
			}
		})
	}
}
