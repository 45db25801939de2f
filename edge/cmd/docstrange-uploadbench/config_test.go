package main

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	base := []string{"-edge", "http://127.0.0.1:8080/api/v1/uploads/", "-tusd", "http://127.0.0.1:1080/files/", "-edge-pid", "42"}
	tests := []struct {
		name    string
		args    []string
		check   func(*testing.T, *config)
		wantErr string
	}{
		{
			name: "defaults",
			args: base,
			check: func(t *testing.T, c *config) {
				if c.size != 1<<30 || c.chunk != 8<<20 || c.runs != 2 || c.minRatio != 0.9 || c.maxRSSGrowth != 100<<20 {
					t.Errorf("defaults = size %d chunk %d runs %d ratio %g rss %d", c.size, c.chunk, c.runs, c.minRatio, c.maxRSSGrowth)
				}
			},
		},
		{
			name: "sizes with units",
			args: append(base, "-size", "64MiB", "-chunk", "1MiB", "-max-rss-growth", "50MB"),
			check: func(t *testing.T, c *config) {
				if c.size != 64<<20 || c.chunk != 1<<20 || c.maxRSSGrowth != 50_000_000 {
					t.Errorf("size %d chunk %d rss %d", c.size, c.chunk, c.maxRSSGrowth)
				}
			},
		},
		{name: "no edge", args: []string{"-tusd", "http://x/files/", "-edge-pid", "1"}, wantErr: "-edge is required"},
		{name: "no edge pid", args: base[:4], wantErr: "-edge-pid is required"},
		{name: "bad scheme", args: append(base, "-tusd", "ftp://x/"), wantErr: "scheme"},
		{name: "bad size", args: append(base, "-size", "1.5GiB"), wantErr: "whole number"},
		{name: "zero chunk", args: append(base, "-chunk", "0"), wantErr: "-chunk 0"},
		{name: "too many PATCHes", args: append(base, "-chunk", "1KiB"), wantErr: "PATCHes per upload"},
		{name: "no runs", args: append(base, "-runs", "0"), wantErr: "-runs 0"},
		{name: "stray argument", args: append(base, "extra"), wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseFlags(tt.args, io.Discard, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseFlags error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, cfg)
		})
	}
}

func TestParseFlagsHelp(t *testing.T) {
	var out strings.Builder
	if _, err := parseFlags([]string{"-h"}, &out, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseFlags(-h) error = %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(out.String(), "-max-rss-growth") {
		t.Errorf("the usage lacks the flags:\n%s", out.String())
	}
}
