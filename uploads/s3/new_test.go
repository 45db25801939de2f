package s3_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docstrange/mesh/internal/s3test"
	"github.com/docstrange/mesh/uploads/s3"
)

// TestNew builds stores against a real server and checks that each thing an
// operator can get wrong fails at start, with an error that says what.
func TestNew(t *testing.T) {
	srv := s3test.Start(t)
	base := func(t *testing.T) s3.Config {
		return s3.Config{
			Endpoint: srv.Endpoint(), Region: srv.Region(), Bucket: srv.Bucket(), PathStyle: true,
			AccessKeyEnv: accessEnv, SecretKeyEnv: secretEnv,
		}
	}
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		edit    func(c *s3.Config)
		env     map[string]string // overrides the server's keys
		wantErr error             // nil: any error
		wantMsg string            // substring of the error; empty: New succeeds
	}{
		{name: "ok", edit: func(c *s3.Config) { c.Prefix, c.PartSize, c.MaxBufferedParts, c.TempDir = "tus", 6<<20, 2, t.TempDir() }},
		{name: "default env names", edit: func(c *s3.Config) { c.AccessKeyEnv, c.SecretKeyEnv = "", "" },
			env: map[string]string{s3.DefaultAccessKeyEnv: srv.AccessKey(), s3.DefaultSecretKeyEnv: srv.SecretKey()}},
		{name: "invalid config", edit: func(c *s3.Config) { c.Region = "" }, wantErr: s3.ErrInvalidConfig, wantMsg: "region"},
		{name: "access key unset", edit: func(c *s3.Config) { c.AccessKeyEnv = "DOCSTRANGE_TEST_NO_SUCH_VAR" },
			wantErr: s3.ErrNoCredentials, wantMsg: "DOCSTRANGE_TEST_NO_SUCH_VAR"},
		{name: "secret empty", env: map[string]string{secretEnv: ""}, wantErr: s3.ErrNoCredentials, wantMsg: secretEnv},
		{name: "wrong secret", env: map[string]string{secretEnv: "not-the-secret"}, wantErr: s3.ErrBucketForbidden, wantMsg: secretEnv},
		// AWS answers 403, versitygw 404: either way the error names the variable.
		{name: "unknown access key", env: map[string]string{accessEnv: "NOBODY"}, wantMsg: accessEnv},
		{name: "missing bucket", edit: func(c *s3.Config) { c.Bucket = "no-such-bucket" }, wantErr: s3.ErrBucketNotFound, wantMsg: "no-such-bucket"},
		{name: "temp dir missing", edit: func(c *s3.Config) { c.TempDir = filepath.Join(t.TempDir(), "gone") }, wantErr: fs.ErrNotExist, wantMsg: "temp_dir"},
		{name: "temp dir is a file", edit: func(c *s3.Config) { c.TempDir = notDir }, wantErr: s3.ErrInvalidConfig, wantMsg: "not a folder"},
		{name: "server down", edit: func(c *s3.Config) { c.Endpoint = "http://127.0.0.1:1" }, wantMsg: "checking bucket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(accessEnv, srv.AccessKey())
			t.Setenv(secretEnv, srv.SecretKey())
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			cfg := base(t)
			if tt.edit != nil {
				tt.edit(&cfg)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			store, err := s3.New(ctx, cfg)
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				want := cfg
				if err := want.Validate(); err != nil {
					t.Fatal(err)
				}
				if store.Bucket != want.Bucket || store.ObjectPrefix != want.Prefix || store.PreferredPartSize != want.PartSize ||
					store.MaxBufferedParts != want.MaxBufferedParts || store.TemporaryDirectory != want.TempDir {
					t.Errorf("store = bucket %q, prefix %q, part %d, buffered %d, temp %q; want %+v", store.Bucket,
						store.ObjectPrefix, store.PreferredPartSize, store.MaxBufferedParts, store.TemporaryDirectory, want)
				}
				return
			}
			if err == nil {
				t.Fatal("New succeeded")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), srv.SecretKey()) {
				t.Errorf("error %q leaks the secret key", err)
			}
		})
	}
}
