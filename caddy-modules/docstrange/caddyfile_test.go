package docstrange

import (
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// TestWebhooksAndBlobDirCaddyfile: an option whose environment placeholder
// is unset keeps its default, and does not end the block early.
func TestWebhooksAndBlobDirCaddyfile(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		wantErr bool
		check   func(t *testing.T, a *App)
	}{
		{name: "empty values keep defaults", input: `docstrange {
			blob_dir ""
			webhooks {
				retry_base ""
				max_age ""
				poll 50ms
				allow 10.0.0.0/8,127.0.0.1
			}
		}`, check: func(t *testing.T, a *App) {
			c := a.Webhooks
			if a.BlobDir != "" || c.RetryBase != 0 || c.MaxAge != 0 || c.Poll != caddy.Duration(50*time.Millisecond) || len(c.Allow) != 2 {
				t.Errorf("blob_dir %q, webhooks %+v", a.BlobDir, c)
			}
		}},
		{name: "values", input: `docstrange {
			blob_dir /srv/blobs
			webhooks {
				retry_base 2s
			}
		}`, check: func(t *testing.T, a *App) {
			if a.BlobDir != "/srv/blobs" || a.Webhooks.RetryBase != caddy.Duration(2*time.Second) {
				t.Errorf("blob_dir %q, webhooks %+v", a.BlobDir, a.Webhooks)
			}
		}},
		{name: "bad duration", input: `docstrange {
			webhooks {
				retry_base soon
			}
		}`, wantErr: true},
		{name: "unknown option", input: `docstrange {
			webhooks {
				colour red
			}
		}`, wantErr: true},
		{name: "two blob dirs", input: `docstrange {
			blob_dir /a /b
		}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &App{}
			err := a.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input))
			if tt.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, a)
		})
	}
}
