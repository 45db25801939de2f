package docstrange

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/dustin/go-humanize"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("docstrange", parseGlobal)
}

// parseGlobal sets up the app from the global option block:
//
//	docstrange {
//		data_dir         <path>
//		store            embedded|redis
//		redis {
//			addr     <host:port>
//			password <secret>
//			db       <n>
//			prefix   <prefix>
//		}
//		max_upload_size  <size, e.g. 100MB>
//		max_pages        <n>
//		result_ttl       <duration>
//		lease_ttl        <duration>
//		max_attempts     <n>
//		workers          <n, -1 for none>
//		pdf_instances    <n>
//		cleanup_interval <duration>
//		region           <name>
//		backends_dir     <path>
//		ocr_backend      <name>
//		render_dpi       <n>
//		auth {
//			tiers_file     <path>
//			pepper_env     <variable>
//			pepper_file_env <variable>
//			on_store_error closed|open
//			key_cache_ttl  <duration>
//		}
//	}
func parseGlobal(d *caddyfile.Dispenser, _ any) (any, error) {
	app := new(App)
	if err := app.UnmarshalCaddyfile(d); err != nil {
		return nil, err
	}
	return httpcaddyfile.App{Name: "docstrange", Value: caddyconfig.JSON(app, nil)}, nil
}

// UnmarshalCaddyfile implements caddyfile.Unmarshaler.
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the option name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		key := d.Val()
		switch key {
		case "redis":
			if err := a.unmarshalRedis(d); err != nil {
				return err
			}
			continue
		case "auth":
			if err := a.unmarshalAuth(d); err != nil {
				return err
			}
			continue
		}
		var val string
		if !d.Args(&val) {
			return d.ArgErr()
		}
		var err error
		switch key {
		case "data_dir":
			a.DataDir = val
		case "store":
			a.Store = val
		case "region":
			a.Region = val
		case "backends_dir":
			a.BackendsDir = val
		case "ocr_backend":
			a.OCRBackend = val
		case "render_dpi":
			a.RenderDPI, err = strconv.Atoi(val)
		case "max_upload_size":
			var n uint64
			n, err = humanize.ParseBytes(val)
			a.MaxUploadSize = int64(n)
		case "max_pages":
			a.MaxPages, err = strconv.Atoi(val)
		case "max_attempts":
			a.MaxAttempts, err = strconv.Atoi(val)
		case "workers":
			a.Workers, err = strconv.Atoi(val)
		case "pdf_instances":
			a.PDFInstances, err = strconv.Atoi(val)
		case "result_ttl":
			a.ResultTTL, err = parseDuration(val)
		case "lease_ttl":
			a.LeaseTTL, err = parseDuration(val)
		case "cleanup_interval":
			a.CleanupInterval, err = parseDuration(val)
		default:
			return d.Errf("unknown docstrange option %q", key)
		}
		if err != nil {
			return d.Errf("%s %q: %v", key, val, err)
		}
	}
	return nil
}

func (a *App) unmarshalRedis(d *caddyfile.Dispenser) error {
	a.Redis = &RedisConfig{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		var val string
		if !d.Args(&val) {
			return d.ArgErr()
		}
		switch key {
		case "addr":
			a.Redis.Addr = val
		case "password":
			a.Redis.Password = val
		case "prefix":
			a.Redis.Prefix = val
		case "db":
			n, err := strconv.Atoi(val)
			if err != nil {
				return d.Errf("redis db %q: %v", val, err)
			}
			a.Redis.DB = n
		default:
			return d.Errf("unknown redis option %q", key)
		}
	}
	return nil
}

func (a *App) unmarshalAuth(d *caddyfile.Dispenser) error {
	a.Auth = &AuthConfig{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		args := d.RemainingArgs()
		if len(args) > 1 {
			return d.ArgErr()
		}
		switch key {
		case "tiers_file", "pepper_env", "pepper_file_env", "on_store_error", "key_cache_ttl":
		default:
			return d.Errf("unknown auth option %q", key)
		}
		// An unset environment placeholder leaves the option at its
		// default.
		if len(args) == 0 || args[0] == "" {
			continue
		}
		val := args[0]
		switch key {
		case "tiers_file":
			a.Auth.TiersFile = val
		case "pepper_env":
			a.Auth.PepperEnv = val
		case "pepper_file_env":
			a.Auth.PepperFileEnv = val
		case "on_store_error":
			a.Auth.OnStoreError = val
		case "key_cache_ttl":
			ttl, err := parseDuration(val)
			if err != nil {
				return d.Errf("key_cache_ttl %q: %v", val, err)
			}
			a.Auth.KeyCacheTTL = ttl
		}
	}
	return nil
}

func parseDuration(s string) (caddy.Duration, error) {
	d, err := caddy.ParseDuration(s)
	return caddy.Duration(d), err
}
