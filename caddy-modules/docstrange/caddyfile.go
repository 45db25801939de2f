package docstrange

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/dustin/go-humanize"

	"github.com/docstrange/mesh/uploads/s3"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("docstrange", parseGlobal)
}

// parseGlobal sets up the app from the global option block:
//
//	docstrange {
//		data_dir         <path>
//		blob_dir         <path>
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
//		dedupe           tenant|off
//		auth {
//			tiers_file     <path>
//			pepper_env     <variable>
//			pepper_file_env <variable>
//			on_store_error closed|open
//			key_cache_ttl  <duration>
//		}
//		url_sources {
//			allow         <host|*.domain|CIDR>...
//			deny          <host|*.domain|CIDR>...
//			timeout       <duration>
//			max_redirects <n>
//		}
//		webhooks {
//			allow      <host|*.domain|CIDR>...
//			deny       <host|*.domain|CIDR>...
//			retry_base <duration>
//			retry_max  <duration>
//			max_age    <duration>
//			timeout    <duration>
//			poll       <duration>
//		}
//		uploads {
//			store            file|s3
//			expire_after     <duration>
//			cleanup_interval <duration>
//			s3 {
//				endpoint       <url>
//				region         <region>
//				bucket         <bucket>
//				prefix         <key prefix>
//				path_style     true|false
//				access_key_env <variable>
//				secret_key_env <variable>
//				part_size      <size>
//			}
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
		case "uploads":
			if err := a.unmarshalUploads(d); err != nil {
				return err
			}
			continue
		case "blob_dir":
			v, err := optionalArg(d)
			if err != nil {
				return err
			}
			a.BlobDir = v
			continue
		case "webhooks":
			if err := a.unmarshalWebhooks(d); err != nil {
				return err
			}
			continue
		case "url_sources":
			if err := a.unmarshalURLSources(d); err != nil {
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
		case "dedupe":
			a.Dedupe = val
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

func (a *App) unmarshalUploads(d *caddyfile.Dispenser) error {
	a.Uploads = &UploadsConfig{}
	var s3cfg s3.Config
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		if key == "s3" {
			if err := unmarshalS3(d, &s3cfg); err != nil {
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
		case "store":
			a.Uploads.Store = val
		case "expire_after":
			a.Uploads.ExpireAfter, err = parseDuration(val)
		case "cleanup_interval":
			a.Uploads.CleanupInterval, err = parseDuration(val)
		default:
			return d.Errf("unknown uploads option %q", key)
		}
		if err != nil {
			return d.Errf("%s %q: %v", key, val, err)
		}
	}
	if a.Uploads.Store == UploadStoreS3 {
		a.Uploads.S3 = &s3cfg
	}
	return nil
}

func (a *App) unmarshalURLSources(d *caddyfile.Dispenser) error {
	a.URLSources = &URLSourcesConfig{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		args := d.RemainingArgs()
		var err error
		switch key {
		case "allow":
			a.URLSources.Allow = append(a.URLSources.Allow, splitHosts(args)...)
		case "deny":
			a.URLSources.Deny = append(a.URLSources.Deny, splitHosts(args)...)
		case "timeout", "max_redirects":
			if len(args) != 1 {
				return d.ArgErr()
			}
			if key == "timeout" {
				a.URLSources.Timeout, err = parseDuration(args[0])
			} else {
				a.URLSources.MaxRedirects, err = strconv.Atoi(args[0])
			}
		default:
			return d.Errf("unknown url_sources option %q", key)
		}
		if err != nil {
			return d.Errf("url_sources %s: %v", key, err)
		}
	}
	return nil
}

func (a *App) unmarshalWebhooks(d *caddyfile.Dispenser) error {
	c := &WebhooksConfig{}
	a.Webhooks = c
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		switch key {
		case "allow":
			c.Allow = append(c.Allow, splitHosts(d.RemainingArgs())...)
			continue
		case "deny":
			c.Deny = append(c.Deny, splitHosts(d.RemainingArgs())...)
			continue
		}
		dst := map[string]*caddy.Duration{"retry_base": &c.RetryBase, "retry_max": &c.RetryMax, "max_age": &c.MaxAge, "timeout": &c.Timeout, "poll": &c.Poll}[key]
		if dst == nil {
			return d.Errf("unknown webhooks option %q", key)
		}
		arg, err := optionalArg(d)
		if err != nil {
			return err
		}
		if arg == "" { // unset: the default stays
			continue
		}
		v, err := parseDuration(arg)
		if err != nil {
			return d.Errf("webhooks %s: %v", key, err)
		}
		*dst = v
	}
	return nil
}

// unmarshalS3 reads the s3 block; an option left empty by an unset
// environment placeholder keeps its default.
func unmarshalS3(d *caddyfile.Dispenser, c *s3.Config) error {
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		args := d.RemainingArgs()
		if len(args) > 1 {
			return d.ArgErr()
		}
		val := ""
		if len(args) == 1 {
			val = args[0]
		}
		var err error
		switch key {
		case "endpoint":
			c.Endpoint = val
		case "region":
			c.Region = val
		case "bucket":
			c.Bucket = val
		case "prefix":
			c.Prefix = val
		case "access_key_env":
			c.AccessKeyEnv = val
		case "secret_key_env":
			c.SecretKeyEnv = val
		case "path_style":
			c.PathStyle = val == "true" || val == "on"
		case "part_size":
			if val != "" {
				var n uint64
				n, err = humanize.ParseBytes(val)
				c.PartSize = int64(n)
			}
		default:
			return d.Errf("unknown s3 option %q", key)
		}
		if err != nil {
			return d.Errf("s3 %s %q: %v", key, val, err)
		}
	}
	return nil
}

func parseDuration(s string) (caddy.Duration, error) {
	d, err := caddy.ParseDuration(s)
	return caddy.Duration(d), err
}

// optionalArg reads an option's one argument, or "" when it has none: a
// quoted environment placeholder that is unset leaves no token, and the
// option keeps its default.
func optionalArg(d *caddyfile.Dispenser) (string, error) {
	switch args := d.RemainingArgs(); len(args) {
	case 0:
		return "", nil
	case 1:
		return args[0], nil
	default:
		return "", d.ArgErr()
	}
}
