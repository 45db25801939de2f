package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, backendName), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	bd := "-backends-dir=" + dir
	tests := []struct {
		name    string
		args    []string
		pages   int
		threads []int
		wantErr string
	}{
		{name: "defaults", args: []string{bd}, pages: 6, threads: []int{1, 2}},
		{name: "quick", args: []string{bd, "-quick"}, pages: 2, threads: []int{1, 2}},
		{name: "explicit pages win over quick", args: []string{bd, "-quick", "-pages", "3"}, pages: 3, threads: []int{1, 2}},
		{name: "threads list", args: []string{bd, "-threads", "1, 4"}, pages: 6, threads: []int{1, 4}},
		{name: "bad threads", args: []string{bd, "-threads", "0"}, wantErr: "must be a positive integer"},
		{name: "no pages", args: []string{bd, "-pages", "0"}, wantErr: "-pages 0"},
		{name: "no backend", args: []string{"-backends-dir", t.TempDir()}, wantErr: "-backends-dir"},
		{name: "stray argument", args: []string{bd, "x"}, wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			cfg, err := parseFlags(tt.args, &out, &errOut)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.pages != tt.pages || !slices.Equal(cfg.threads, tt.threads) {
				t.Fatalf("pages %d threads %v, want %d %v", cfg.pages, cfg.threads, tt.pages, tt.threads)
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	var out, errOut bytes.Buffer
	if _, err := parseFlags([]string{"--help"}, &out, &errOut); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: err = %v", err)
	}
	if !strings.Contains(out.String(), "-speed-ratio") {
		t.Errorf("--help printed %q", out.String())
	}
	out.Reset()
	if code := run(t.Context(), []string{"--version"}, &out, &errOut); code != exitPass || !strings.HasPrefix(out.String(), "docstrange-ocrbench ") {
		t.Errorf("--version: exit %d, printed %q", code, out.String())
	}
}
