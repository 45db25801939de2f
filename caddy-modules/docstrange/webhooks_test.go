package docstrange

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/docstrange/mesh/scheduler/webhook"
)

// TestWebhookSecretCache: the cached secret is the derived one, per
// tenant, and the cache stays bounded however many tenants ask.
func TestWebhookSecretCache(t *testing.T) {
	a := &App{
		auth:    authState{pepper: []byte("pepper-0123456789abcdef")},
		log:     slog.New(slog.DiscardHandler),
		metrics: newMetrics(t.Context(), noStats{}),
	}
	if err := a.provisionWebhooks(); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second pass is served from the cache
		for _, tenant := range []string{"acme", "bigco"} {
			if got, want := a.WebhookSecret(tenant), webhook.TenantSecret(a.auth.pepper, tenant); got != want {
				t.Fatalf("WebhookSecret(%s) = %q, want %q", tenant, got, want)
			}
		}
	}
	if a.WebhookSecret("acme") == a.WebhookSecret("bigco") {
		t.Fatal("two tenants share a webhook secret")
	}
	for i := range 10000 {
		a.WebhookSecret(fmt.Sprintf("tenant-%d", i))
	}
	if n := a.webhookSecrets.Len(); n > 4096 {
		t.Fatalf("the cache holds %d secrets, more than its bound", n)
	}
	if got, want := a.WebhookSecret("tenant-3"), webhook.TenantSecret(a.auth.pepper, "tenant-3"); got != want {
		t.Fatalf("an evicted tenant's secret = %q, want %q", got, want)
	}
}
