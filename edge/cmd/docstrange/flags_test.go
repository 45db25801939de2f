package main

import (
	"bytes"
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/docstrange/mesh/api"
)

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantPos  []string
		wantWait bool
		wantFmt  string
		wantErr  bool
	}{
		{"flags first", []string{"--wait", "--format", "text", "a.pdf"}, []string{"a.pdf"}, true, "text", false},
		{"flags last", []string{"a.pdf", "b.pdf", "--wait", "--format=json"}, []string{"a.pdf", "b.pdf"}, true, "json", false},
		{"flags between", []string{"a.pdf", "-wait", "b.pdf"}, []string{"a.pdf", "b.pdf"}, true, "", false},
		{"standard input", []string{"-", "--wait"}, []string{"-"}, true, "", false},
		{"after --, everything is a file", []string{"--wait", "--", "--format", "a.pdf"}, []string{"--format", "a.pdf"}, true, "", false},
		{"no arguments", nil, nil, false, "", false},
		{"a flag missing its value", []string{"a.pdf", "--format"}, nil, false, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			wait := fs.Bool("wait", false, "")
			format := fs.String("format", "", "")
			pos, err := parseInterspersed(fs, tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v", err)
			}
			if tt.wantErr {
				return
			}
			if !reflect.DeepEqual(pos, tt.wantPos) || *wait != tt.wantWait || *format != tt.wantFmt {
				t.Fatalf("positional %q, wait %v, format %q", pos, *wait, *format)
			}
		})
	}
}

func TestByteSizeFlag(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    byteSize
		wantErr bool
	}{
		{"mebibytes", "16MiB", 16 << 20, false},
		{"megabytes", "100MB", 100_000_000, false},
		{"plain bytes", "4096", 4096, false},
		{"garbage", "lots", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b byteSize
			err := b.Set(tt.in)
			if (err != nil) != tt.wantErr || !tt.wantErr && b != tt.want {
				t.Fatalf("Set(%q) = %d, %v", tt.in, b, err)
			}
		})
	}
}

func TestRenderBar(t *testing.T) {
	tests := []struct {
		name   string
		frac   float64
		detail string
		cols   int
		want   string
	}{
		// The line fills the terminal's width exactly.
		{"half", 0.5, "60/120 pages", 80, "a.pdf  running  [" + strings.Repeat("#", 18) + strings.Repeat(".", 18) + "]   50%  60/120 pages  0:07"},
		{"unknown progress", -1, "", 60, "a.pdf  running  [" + strings.Repeat(".", 36) + "]  0:07"},
		{"narrow terminal: the bar shrinks", 1, "", 40, "a.pdf  running  [##########]  100%  0:07"},
		{"too narrow for a bar", 0.25, "3/12 pages", 30, "a.pdf  running   25%  3/12 pag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := renderBar("a.pdf", "running", tt.frac, tt.detail, "0:07", tt.cols)
			if got != tt.want {
				t.Fatalf("\n got %q\nwant %q", got, tt.want)
			}
			if len([]rune(got)) > tt.cols {
				t.Fatalf("%d columns, the terminal has %d", len([]rune(got)), tt.cols)
			}
		})
	}
}

// TestLines: plain progress prints a line per status and per tenth of the
// pages, not one per event.
func TestLines(t *testing.T) {
	var buf bytes.Buffer
	l := &lines{w: &buf, label: "job_1"}
	l.job(&api.Job{Status: "queued"})
	l.job(&api.Job{Status: "queued"})
	for done := 0; done <= 100; done++ {
		l.job(&api.Job{Status: "running", Progress: api.Progress{PagesDone: done, PagesTotal: 100}})
	}
	l.job(&api.Job{Status: "succeeded", Progress: api.Progress{PagesDone: 100, PagesTotal: 100}})
	got := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(got) != 1+11+1 || got[0] != "job_1 queued" || got[1] != "job_1 running 0/100 pages" ||
		got[5] != "job_1 running 40/100 pages" || got[12] != "job_1 succeeded 100/100 pages" {
		t.Fatalf("%d lines:\n%s", len(got), buf.String())
	}
}
