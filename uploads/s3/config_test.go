package s3_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tus/tusd/v2/pkg/s3store"

	"github.com/docstrange/mesh/uploads/s3"
)

func TestConfigValidate(t *testing.T) {
	valid := func() s3.Config { return s3.Config{Region: "eu-west-1", Bucket: "uploads"} }
	tests := []struct {
		name    string
		edit    func(c *s3.Config)
		wantErr string // substring; empty means valid
		check   func(t *testing.T, c s3.Config)
	}{
		{name: "defaults", edit: func(*s3.Config) {}, check: func(t *testing.T, c s3.Config) {
			want := s3.Config{
				Region: "eu-west-1", Bucket: "uploads", Prefix: "uploads/",
				AccessKeyEnv: "DOCSTRANGE_S3_ACCESS_KEY", SecretKeyEnv: "DOCSTRANGE_S3_SECRET_KEY",
				PartSize: 50 << 20, MaxBufferedParts: 20,
			}
			if c != want {
				t.Errorf("got %+v, want %+v", c, want)
			}
		}},
		{name: "explicit values kept", edit: func(c *s3.Config) {
			c.Endpoint, c.Prefix, c.AccessKeyEnv, c.SecretKeyEnv = "https://s3.example.com:9000/", "a/b/", "MY_KEY", "_MY_SECRET2"
			c.PathStyle, c.PartSize, c.MaxBufferedParts = true, 5<<20, 3
		}, check: func(t *testing.T, c s3.Config) {
			if c.Endpoint != "https://s3.example.com:9000/" || c.Prefix != "a/b/" || c.AccessKeyEnv != "MY_KEY" ||
				c.SecretKeyEnv != "_MY_SECRET2" || !c.PathStyle || c.PartSize != 5<<20 || c.MaxBufferedParts != 3 {
				t.Errorf("values changed: %+v", c)
			}
		}},
		{name: "prefix gets a slash", edit: func(c *s3.Config) { c.Prefix = "tus" }, check: func(t *testing.T, c s3.Config) {
			if c.Prefix != "tus/" {
				t.Errorf("Prefix = %q, want tus/", c.Prefix)
			}
		}},
		{name: "largest part", edit: func(c *s3.Config) { c.PartSize = 5 << 30 }},
		{name: "no region", edit: func(c *s3.Config) { c.Region = "" }, wantErr: "region is required"},
		{name: "no bucket", edit: func(c *s3.Config) { c.Bucket = "" }, wantErr: "bucket is required"},
		{name: "bucket with path", edit: func(c *s3.Config) { c.Bucket = "uploads/tus" }, wantErr: "not a bucket name"},
		{name: "endpoint without scheme", edit: func(c *s3.Config) { c.Endpoint = "127.0.0.1:9000" }, wantErr: "endpoint"},
		{name: "endpoint ftp", edit: func(c *s3.Config) { c.Endpoint = "ftp://127.0.0.1:9000" }, wantErr: "http:// or https://"},
		{name: "endpoint without host", edit: func(c *s3.Config) { c.Endpoint = "http://" }, wantErr: "has no host"},
		{name: "endpoint with path", edit: func(c *s3.Config) { c.Endpoint = "http://h:9000/bucket" }, wantErr: "bare base URL"},
		{name: "endpoint with password", edit: func(c *s3.Config) { c.Endpoint = "http://u:hunter2@h:9000" }, wantErr: "bare base URL"},
		{name: "prefix with leading slash", edit: func(c *s3.Config) { c.Prefix = "/uploads/" }, wantErr: "starts with /"},
		{name: "secret instead of env name", edit: func(c *s3.Config) { c.SecretKeyEnv = "wJalrXUtnFEMI/K7MDENG+bPxRfiCY" }, wantErr: "secret_key_env must name"},
		{name: "env name with dash", edit: func(c *s3.Config) { c.AccessKeyEnv = "S3-KEY" }, wantErr: "access_key_env must name"},
		{name: "part too small", edit: func(c *s3.Config) { c.PartSize = 5<<20 - 1 }, wantErr: "part_size"},
		{name: "part too large", edit: func(c *s3.Config) { c.PartSize = 5<<30 + 1 }, wantErr: "part_size"},
		{name: "negative part", edit: func(c *s3.Config) { c.PartSize = -1 }, wantErr: "part_size"},
		{name: "negative buffered parts", edit: func(c *s3.Config) { c.MaxBufferedParts = -1 }, wantErr: "max_buffered_parts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.edit(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if tt.check != nil {
					tt.check(t, c)
				}
				return
			}
			if !errors.Is(err, s3.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate error = %v, want ErrInvalidConfig containing %q", err, tt.wantErr)
			}
			for _, secret := range []string{"hunter2", "wJalrXUtnFEMI"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q leaks a secret", err)
				}
			}
		})
	}
}

// TestDefaultsMatchTusd keeps the documented defaults in step with tusd's, so
// that an upgrade that changes them is noticed.
func TestDefaultsMatchTusd(t *testing.T) {
	store := s3store.New("b", nil)
	tests := []struct {
		name      string
		ours, got int64
	}{
		{"part size", s3.DefaultPartSize, store.PreferredPartSize},
		{"min part size", s3.MinPartSize, store.MinPartSize},
		{"max part size", s3.MaxPartSize, store.MaxPartSize},
		{"max buffered parts", s3.DefaultMaxBufferedParts, store.MaxBufferedParts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.ours != tt.got {
				t.Errorf("ours %d, tusd's %d", tt.ours, tt.got)
			}
		})
	}
}
