package urlfetch

import (
	"strings"
	"testing"
	"time"
)

// TestNew rejects what would silently open, close or default something.
func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "minimal", cfg: Config{MaxBytes: 1}},
		{name: "lists", cfg: Config{MaxBytes: 1, Allow: []string{"docs.example.com", "*.example.org", "10.20.0.0/16", "fd00::/8", "192.0.2.7"}, Deny: []string{"::ffff:10.0.0.0/104"}}},
		{name: "no max bytes", cfg: Config{}, wantErr: "max_bytes is required"},
		{name: "negative timeout", cfg: Config{MaxBytes: 1, Timeout: -time.Second}, wantErr: "timeout"},
		{name: "url in a list", cfg: Config{MaxBytes: 1, Allow: []string{"https://docs.example.com"}}, wantErr: "neither a host"},
		{name: "host with port", cfg: Config{MaxBytes: 1, Deny: []string{"docs.example.com:443"}}, wantErr: "neither a host"},
		{name: "bare wildcard", cfg: Config{MaxBytes: 1, Deny: []string{"*"}}, wantErr: "neither a host"},
		{name: "numeric non-IP", cfg: Config{MaxBytes: 1, Allow: []string{"10.1"}}, wantErr: "neither a host"},
		{name: "CIDR with host bits", cfg: Config{MaxBytes: 1, Allow: []string{"10.0.0.1/8"}}, wantErr: "did you mean 10.0.0.0/8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if f.timeout != DefaultTimeout || f.maxRedirects != DefaultMaxRedirects || f.userAgent != DefaultUserAgent {
					t.Fatalf("defaults not filled: %+v", f)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
