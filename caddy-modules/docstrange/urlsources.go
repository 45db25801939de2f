package docstrange

import (
	"fmt"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/docstrange/mesh/sources/urlfetch"
)

// URLSourcesConfig is the operator's policy for documents fetched by URL.
type URLSourcesConfig struct {
	// Allow lists hosts ("docs.example.com", "*.example.com") and CIDRs; a
	// CIDR deliberately opens a range otherwise refused (an internal
	// document server). Default: none (any public address).
	Allow []string `json:"allow,omitempty"`
	// Deny lists hosts and CIDRs never fetched; it beats Allow. Default:
	// none.
	Deny []string `json:"deny,omitempty"`
	// Timeout bounds one fetch, redirects and body included. Default: 30s.
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// MaxRedirects is how many redirects a fetch follows. Default: 5.
	MaxRedirects int `json:"max_redirects,omitempty"`
}

// URLFetcher is a fetcher under the operator's policy for a document of at
// most limit bytes.
func (a *App) URLFetcher(limit int64) (*urlfetch.Fetcher, error) {
	c := a.URLSources
	if c == nil {
		c = &URLSourcesConfig{}
	}
	f, err := urlfetch.New(urlfetch.Config{
		Timeout: time.Duration(c.Timeout), MaxBytes: limit, MaxRedirects: c.MaxRedirects,
		Allow: c.Allow, Deny: c.Deny,
	})
	if err != nil {
		return nil, fmt.Errorf("configuring url sources: %w", err)
	}
	return f, nil
}

// checkURLSources rejects a policy the fetcher would refuse, at provision
// rather than at the first submission.
func (c *URLSourcesConfig) check() error {
	_, err := urlfetch.New(urlfetch.Config{MaxBytes: 1, Allow: c.Allow, Deny: c.Deny, Timeout: time.Duration(c.Timeout), MaxRedirects: c.MaxRedirects})
	if err != nil {
		return fmt.Errorf("url_sources: %w", err)
	}
	return nil
}

// splitHosts splits a Caddyfile value of hosts and CIDRs on commas and
// spaces; an unset placeholder gives none.
func splitHosts(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
			out = append(out, f)
		}
	}
	return out
}
