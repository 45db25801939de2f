package host

import (
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

func TestConfigWithDefaults(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		errMsg string
	}{
		{name: "defaults", cfg: Config{Dir: "/b"}},
		{name: "no dir", cfg: Config{}, errMsg: "dir: required"},
		{name: "negative duration", cfg: Config{Dir: "/b", HealthInterval: caddy.Duration(-time.Second)}, errMsg: "health_interval -1s: must not be negative"},
		{name: "backoff max below min", cfg: Config{Dir: "/b", RestartBackoffMin: caddy.Duration(time.Minute)}, errMsg: "restart_backoff_max 30s: must not be below restart_backoff_min 1m0s"},
		{name: "negative retries", cfg: Config{Dir: "/b", MaxRetries: -1}, errMsg: "max_retries -1: must not be negative"},
		{name: "bad sha", cfg: Config{Dir: "/b", Backends: map[string]BackendConfig{"ocr": {SHA256: "abc"}}}, errMsg: `backends: ocr: sha256 "abc": must be 64 hex digits`},
		{name: "bad name", cfg: Config{Dir: "/b", Backends: map[string]BackendConfig{"../x": {}}}, errMsg: `backends: name "../x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.withDefaults()
			if tt.errMsg != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errMsg) {
					t.Fatalf("err = %v, want %q", err, tt.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if time.Duration(got.HealthInterval) != DefaultHealthInterval || got.MaxRetries != DefaultMaxRetries ||
				time.Duration(got.DrainTimeout) != DefaultDrainTimeout || len(got.APIVersions) == 0 {
				t.Errorf("defaults not filled: %+v", got)
			}
		})
	}
}
