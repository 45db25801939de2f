package docstrange

import (
	"fmt"
	"os"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// Store kinds.
const (
	StoreEmbedded = "embedded"
	StoreRedis    = "redis"
)

// Dedupe scopes.
const (
	// DedupeTenant answers a tenant's repeated submission (same content,
	// same options) with its earlier finished job.
	DedupeTenant = "tenant"
	// DedupeOff runs every submission. A scope across tenants is not
	// offered: answering with another tenant's job would leak it.
	DedupeOff = "off"
)

// Defaults, kept in one place so docs and Validate agree.
const (
	DefaultMaxUploadSize = 100 << 20
	DefaultMaxPages      = 2000
	DefaultResultTTL     = 24 * time.Hour
	DefaultLeaseTTL      = 30 * time.Second
	DefaultMaxAttempts   = 3
	DefaultCleanupEvery  = time.Minute
	DefaultRegion        = "local"
)

// RedisConfig points at the production job store.
type RedisConfig struct {
	// Addr is host:port. Default: 127.0.0.1:6379.
	Addr string `json:"addr,omitempty"`
	// Password, if the server wants one. Prefer {env.REDIS_PASSWORD}.
	Password string `json:"password,omitempty"`
	// DB number. Default: 0.
	DB int `json:"db,omitempty"`
	// Prefix of every key, so stacks can share a server. Default: "ds:".
	Prefix string `json:"prefix,omitempty"`
}

// setDefaults fills zero values and rejects values that cannot work; a typo
// must never silently become a default.
func (a *App) setDefaults() error {
	if a.DataDir == "" {
		a.DataDir = os.Getenv("DOCSTRANGE_DATA_DIR")
	}
	if a.DataDir == "" {
		a.DataDir = ".data"
	}
	switch a.Store {
	case "":
		a.Store = StoreEmbedded
	case StoreEmbedded, StoreRedis:
	default:
		return fmt.Errorf("store %q: must be %q or %q", a.Store, StoreEmbedded, StoreRedis)
	}
	if a.Store == StoreRedis && a.Redis == nil {
		a.Redis = &RedisConfig{}
	}
	if a.MaxUploadSize == 0 {
		a.MaxUploadSize = DefaultMaxUploadSize
	}
	if a.MaxUploadSize < 0 {
		return fmt.Errorf("max_upload_size %d: must be positive", a.MaxUploadSize)
	}
	if a.MaxPages == 0 {
		a.MaxPages = DefaultMaxPages
	}
	if a.MaxPages < 0 {
		return fmt.Errorf("max_pages %d: must be positive", a.MaxPages)
	}
	if a.ResultTTL == 0 {
		a.ResultTTL = caddy.Duration(DefaultResultTTL)
	}
	if a.LeaseTTL == 0 {
		a.LeaseTTL = caddy.Duration(DefaultLeaseTTL)
	}
	if a.LeaseTTL < caddy.Duration(time.Second) {
		return fmt.Errorf("lease_ttl %s: must be at least 1s", time.Duration(a.LeaseTTL))
	}
	if a.MaxAttempts == 0 {
		a.MaxAttempts = DefaultMaxAttempts
	}
	if a.Workers == 0 {
		a.Workers = 4
	}
	if a.CleanupInterval == 0 {
		a.CleanupInterval = caddy.Duration(DefaultCleanupEvery)
	}
	switch a.Dedupe {
	case "":
		a.Dedupe = DedupeTenant
	case DedupeTenant, DedupeOff:
	default:
		return fmt.Errorf("dedupe %q: must be %q or %q", a.Dedupe, DedupeTenant, DedupeOff)
	}
	if a.Region == "" {
		a.Region = DefaultRegion
	}
	if a.OCRBackend == "" {
		a.OCRBackend = "onnx"
	}
	if a.RenderDPI == 0 {
		a.RenderDPI = 200
	}
	if a.RenderDPI < 50 || a.RenderDPI > 600 {
		return fmt.Errorf("render_dpi %d: must be from 50 to 600", a.RenderDPI)
	}
	if a.PDFInstances == 0 {
		a.PDFInstances = 2
	}
	return nil
}
