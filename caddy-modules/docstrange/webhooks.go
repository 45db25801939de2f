package docstrange

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/webhook"
	"github.com/docstrange/mesh/sources/urlfetch"
)

// WebhooksConfig is how job events are delivered to clients' webhooks.
type WebhooksConfig struct {
	// Allow lists hosts and CIDRs a webhook may reach that the SSRF rules
	// otherwise refuse (a receiver on a private network). Default: none,
	// so only public addresses.
	Allow []string `json:"allow,omitempty"`
	// Deny lists hosts and CIDRs never called; it beats Allow. Default:
	// none.
	Deny []string `json:"deny,omitempty"`
	// RetryBase is the delay before the first retry, doubled for each
	// further one. Default: 10s.
	RetryBase caddy.Duration `json:"retry_base,omitempty"`
	// RetryMax caps one retry delay. Default: 1h.
	RetryMax caddy.Duration `json:"retry_max,omitempty"`
	// MaxAge is how long after its event a delivery is retried before it
	// is dead-lettered. Default: 24h.
	MaxAge caddy.Duration `json:"max_age,omitempty"`
	// Timeout bounds one attempt. Default: 10s.
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// Poll is how often due deliveries are looked for. Default: 1s.
	Poll caddy.Duration `json:"poll,omitempty"`
}

// webhookConfig is the sender's view of the config.
func (c *WebhooksConfig) webhookConfig() webhook.Config {
	return webhook.Config{
		RetryBase: time.Duration(c.RetryBase), RetryMax: time.Duration(c.RetryMax), MaxAge: time.Duration(c.MaxAge),
		Timeout: time.Duration(c.Timeout), Poll: time.Duration(c.Poll),
	}
}

// webhookFetcher posts deliveries under the operator's address policy.
func (c *WebhooksConfig) webhookFetcher() (*urlfetch.Fetcher, error) {
	timeout := time.Duration(c.Timeout)
	if timeout <= 0 {
		timeout = webhook.DefaultTimeout
	}
	f, err := urlfetch.New(urlfetch.Config{
		MaxBytes: 1, MaxRedirects: -1, Timeout: timeout, Allow: c.Allow, Deny: c.Deny,
		UserAgent: "DocStrange-Mesh-Webhooks/1",
	})
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	return f, nil
}

// provisionWebhooks builds the sender; Start runs it.
func (a *App) provisionWebhooks() error {
	if a.Webhooks == nil {
		a.Webhooks = &WebhooksConfig{}
	}
	c := a.Webhooks
	for name, d := range map[string]caddy.Duration{"retry_base": c.RetryBase, "retry_max": c.RetryMax, "max_age": c.MaxAge, "timeout": c.Timeout, "poll": c.Poll} {
		if d < 0 {
			return fmt.Errorf("webhooks %s: must not be negative", name)
		}
	}
	f, err := c.webhookFetcher()
	if err != nil {
		return err
	}
	a.webhookPost = f
	// Bounded: tenants can be many (every OIDC tenant claim); a miss only
	// costs the derivation.
	if a.webhookSecrets, err = lru.New[string, string](4096); err != nil {
		return err
	}
	a.webhooks = webhook.New(a.jobs, f, a.webhookKey, c.webhookConfig(), a.log.With("component", "webhooks"), a.metrics.set)
	return nil
}

// webhookKey is the signing key of a tenant's webhooks without a secret of
// their own, derived from the API-key pepper: every edge sharing the pepper
// signs alike, and rotating the pepper (which already revokes every key)
// rotates these too.
func (a *App) webhookKey(tenant string) []byte {
	return webhook.TenantKey(a.auth.pepper, tenant)
}

// WebhookSecret is the secret a tenant's webhooks are signed with when they
// carry none (GET /api/v1/me shows it).
func (a *App) WebhookSecret(tenant string) string {
	if s, ok := a.webhookSecrets.Get(tenant); ok {
		return s
	}
	s := webhook.TenantSecret(a.auth.pepper, tenant)
	a.webhookSecrets.Add(tenant, s)
	return s
}

// CheckWebhook refuses, at submission, a webhook URL the sender would never
// be allowed to call: a 400 now rather than a dead letter later. The sender
// checks again at every attempt.
func (a *App) CheckWebhook(ctx context.Context, w *scheduler.Webhook) *api.Error {
	if w == nil {
		return nil
	}
	err := a.webhookPost.Check(ctx, w.URL)
	var refused *urlfetch.RefusedError
	switch {
	case errors.As(err, &refused):
		return api.Errorf(http.StatusBadRequest, api.CodeURLNotAllowed, "the webhook URL is not allowed: %s", refused.Reason).
			With("field", "webhook.url").With("reason", refused.Reason)
	case errors.Is(err, urlfetch.ErrRefused):
		return api.Errorf(http.StatusBadRequest, api.CodeURLNotAllowed, "the webhook URL is not allowed: %v", err).With("field", "webhook.url")
	}
	// A name that does not resolve now may resolve later: the deliveries
	// retry, and their history says why they fail.
	return nil
}
