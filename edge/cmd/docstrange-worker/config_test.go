package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
		check   func(t *testing.T, c *config)
	}{
		{name: "blob dir required", wantErr: "blob-dir"},
		{name: "flags", args: []string{"-blob-dir", "/b", "-slots", "3", "-device", "gpu", "-lease-ttl", "5s"}, check: func(t *testing.T, c *config) {
			if c.BlobDir != "/b" || c.Slots != 3 || c.Device != "gpu" || c.LeaseTTL != 5*time.Second {
				t.Errorf("config = %+v", c)
			}
		}},
		{name: "environment", env: map[string]string{"DOCSTRANGE_BLOB_DIR": "/e", "DOCSTRANGE_SLOTS": "4", "DOCSTRANGE_WORKER_ID": "alloc-1", "DOCSTRANGE_REDIS_ADDR": "r:1"},
			check: func(t *testing.T, c *config) {
				if c.BlobDir != "/e" || c.Slots != 4 || c.ID != "alloc-1" || c.RedisAddr != "r:1" || c.Device != "cpu" || c.Queue != queueShared {
					t.Errorf("config = %+v", c)
				}
			}},
		{name: "flag beats environment", env: map[string]string{"DOCSTRANGE_BLOB_DIR": "/e"}, args: []string{"-blob-dir", "/f"}, check: func(t *testing.T, c *config) {
			if c.BlobDir != "/f" {
				t.Errorf("BlobDir = %q", c.BlobDir)
			}
		}},
		{name: "assigned queue", args: []string{"-blob-dir", "/b", "-queue", "assigned"}, check: func(t *testing.T, c *config) {
			if c.Queue != queueAssigned {
				t.Errorf("Queue = %q", c.Queue)
			}
		}},
		{name: "unknown queue", args: []string{"-blob-dir", "/b", "-queue", "mine"}, wantErr: "queue"},
		{name: "unknown device", args: []string{"-blob-dir", "/b", "-device", "tpu"}, wantErr: "device"},
		{name: "zero slots", args: []string{"-blob-dir", "/b", "-slots", "0"}, wantErr: "slots"},
		{name: "short lease", args: []string{"-blob-dir", "/b", "-lease-ttl", "10ms"}, wantErr: "lease-ttl"},
		{name: "stray argument", args: []string{"-blob-dir", "/b", "extra"}, wantErr: "unexpected"},
		{name: "unknown flag", args: []string{"-colour", "red"}, wantErr: "colour"},
		{name: "version needs nothing else", args: []string{"-version"}, check: func(t *testing.T, c *config) {
			if !c.Version {
				t.Error("Version not set")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"DOCSTRANGE_BLOB_DIR", "DOCSTRANGE_SLOTS", "DOCSTRANGE_WORKER_ID", "DOCSTRANGE_REDIS_ADDR", "DOCSTRANGE_DEVICE"} {
				t.Setenv(k, tt.env[k])
			}
			c, err := parseConfig(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}
