package main

import "testing"

func TestParseSize(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr bool
	}{
		{name: "plain bytes", in: "1073741824", want: 1 << 30},
		{name: "GiB", in: "1GiB", want: 1 << 30},
		{name: "MiB lower case", in: "8mib", want: 8 << 20},
		{name: "KiB with space", in: " 4 KiB ", want: 4 << 10},
		{name: "decimal MB", in: "100MB", want: 100_000_000},
		{name: "B suffix", in: "512B", want: 512},
		{name: "zero", in: "0", want: 0},
		{name: "fraction", in: "1.5GiB", wantErr: true},
		{name: "negative", in: "-1MiB", wantErr: true},
		{name: "unknown unit", in: "8MiBs", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "overflow", in: "9000000000GiB", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSize(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseSize(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("parseSize(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		name string
		in   int64
		want string
	}{
		{name: "GiB", in: 1 << 30, want: "1GiB"},
		{name: "MiB", in: 8 << 20, want: "8MiB"},
		{name: "not whole GiB", in: 1536 << 20, want: "1536MiB"},
		{name: "KiB", in: 3 << 10, want: "3KiB"},
		{name: "bytes", in: 1000, want: "1000B"},
		{name: "zero", in: 0, want: "0B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatSize(tt.in); got != tt.want {
				t.Errorf("formatSize(%d) = %q, want %q", tt.in, got, tt.want)
			}
			if back, err := parseSize(formatSize(tt.in)); err != nil || back != tt.in {
				t.Errorf("parseSize(formatSize(%d)) = %d, %v", tt.in, back, err)
			}
		})
	}
}
