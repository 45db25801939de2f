package urlfetch

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Defaults of Config.
const (
	// DefaultTimeout bounds a whole fetch.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxRedirects is how many redirects a fetch follows.
	DefaultMaxRedirects = 5
	// DefaultUserAgent names the fetcher to origins.
	DefaultUserAgent = "DocStrange-Mesh/1 (+url-source)"
)

// Config configures a Fetcher.
type Config struct {
	// Timeout bounds a whole fetch: resolution, connection, redirects and
	// the body. Default: DefaultTimeout (30s).
	Timeout time.Duration `json:"timeout,omitempty"`
	// MaxBytes is the largest document accepted, in bytes: the tier's
	// limit. Required; there is no default.
	MaxBytes int64 `json:"max_bytes,omitempty"`
	// MaxRedirects is how many redirects a fetch follows. Default:
	// DefaultMaxRedirects (5); negative follows none.
	MaxRedirects int `json:"max_redirects,omitempty"`
	// Allow holds hosts ("docs.example.com", "*.example.com") and IPs or
	// CIDRs ("10.20.0.0/16"). An Allow CIDR deliberately opens a range the
	// fetcher otherwise refuses, such as an internal document server's
	// private network; Allow hosts, if any, restrict fetches to those hosts.
	// Default: none, so any public address and no special one.
	Allow []string `json:"allow,omitempty"`
	// Deny holds hosts and CIDRs never fetched; it beats Allow. Default:
	// none.
	Deny []string `json:"deny,omitempty"`
	// UserAgent is sent with every request. Default: DefaultUserAgent.
	UserAgent string `json:"user_agent,omitempty"`
	// Resolver resolves host names. Default: net.DefaultResolver.
	Resolver *net.Resolver `json:"-"`
	// LookupIP, if set, resolves host names instead of Resolver; it gets
	// the name without a trailing dot. Tests use it to map names to
	// addresses without DNS, rebinding included. Default: nil.
	LookupIP func(ctx context.Context, host string) ([]netip.Addr, error) `json:"-"`
	// TLSConfig, if set, is cloned for https, for an internal CA's roots.
	// Default: nil, the system roots.
	TLSConfig *tls.Config `json:"-"`
}

// withDefaults validates c and fills in its defaults.
func (c Config) withDefaults() (Config, error) {
	switch {
	case c.MaxBytes <= 0:
		return c, errors.New("max_bytes is required and must be positive")
	case c.Timeout < 0:
		return c, fmt.Errorf("timeout %s must not be negative", c.Timeout)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	switch {
	case c.MaxRedirects == 0:
		c.MaxRedirects = DefaultMaxRedirects
	case c.MaxRedirects < 0:
		c.MaxRedirects = 0
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	if c.Resolver == nil {
		c.Resolver = net.DefaultResolver
	}
	return c, nil
}
