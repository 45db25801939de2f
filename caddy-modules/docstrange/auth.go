package docstrange

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/redis/go-redis/v9"

	"github.com/docstrange/mesh/auth/keys"
	"github.com/docstrange/mesh/auth/limits"
	"github.com/docstrange/mesh/auth/tiers"
)

// On-error behaviours of the rate limit and quota stores.
const (
	FailClosed = "closed"
	FailOpen   = "open"
)

// Defaults of AuthConfig.
const (
	DefaultPepperEnv     = "DOCSTRANGE_KEY_PEPPER"
	DefaultPepperFileEnv = "DOCSTRANGE_KEY_PEPPER_FILE"
	// pepperLen is the size of a generated pepper.
	pepperLen = 32
	// redisTimeout bounds one auth store call. A dead Redis refuses
	// connections at once (no retries below); this only bounds a hung one,
	// and is long enough that an overloaded edge is slow, not failing.
	redisTimeout = 2 * time.Second
	// redisPool is the auth client's connection pool: one call per request
	// on the hot path, so it must not queue behind go-redis' default of
	// 10 per CPU under a few hundred concurrent clients.
	redisPool = 256
)

// AuthConfig configures the state the authn, authz and ratelimit handlers
// and the admin API share: the tier policy, the API keys, request rates and
// document quotas. Embedded mode keeps keys and quotas in files in DataDir
// and rates in memory; redis mode keeps all three in Redis, so every edge
// sees the same.
type AuthConfig struct {
	// TiersFile is a JSON file with the tier data, watched for changes that
	// apply without a restart. Default: the data built into the binary
	// (policy/data/tiers.json).
	TiersFile string `json:"tiers_file,omitempty"`
	// PepperEnv names the environment variable with the API-key pepper, the
	// server-side secret every key hash is keyed with. Default:
	// DOCSTRANGE_KEY_PEPPER.
	PepperEnv string `json:"pepper_env,omitempty"`
	// PepperFileEnv names the environment variable with the path of a file
	// holding the pepper instead. Default: DOCSTRANGE_KEY_PEPPER_FILE. With
	// neither set, embedded mode generates a pepper once in
	// DataDir/secrets/key-pepper; redis mode refuses to start, because
	// every edge must share it.
	PepperFileEnv string `json:"pepper_file_env,omitempty"`
	// OnStoreError is what happens when the rate limit or quota store
	// fails: "closed" answers 503 DEPENDENCY_UNAVAILABLE, "open" lets the
	// request through unlimited and logs it. Default: closed.
	OnStoreError string `json:"on_store_error,omitempty"`
	// KeyCacheTTL is how long an edge trusts a verified API key without
	// reading the store again; a revocation holds on every edge within
	// it. Default: 500ms; at most 1s.
	KeyCacheTTL caddy.Duration `json:"key_cache_ttl,omitempty"`
}

func (c *AuthConfig) setDefaults() error {
	if c.PepperEnv == "" {
		c.PepperEnv = DefaultPepperEnv
	}
	if c.PepperFileEnv == "" {
		c.PepperFileEnv = DefaultPepperFileEnv
	}
	switch c.OnStoreError {
	case "":
		c.OnStoreError = FailClosed
	case FailClosed, FailOpen:
	default:
		return fmt.Errorf("on_store_error %q: must be %q or %q", c.OnStoreError, FailClosed, FailOpen)
	}
	if c.KeyCacheTTL == 0 {
		c.KeyCacheTTL = caddy.Duration(500 * time.Millisecond)
	}
	if c.KeyCacheTTL < 0 || c.KeyCacheTTL > caddy.Duration(time.Second) {
		return fmt.Errorf("key_cache_ttl %s: must be from 0 to 1s, or revocations would not hold within 1s", time.Duration(c.KeyCacheTTL))
	}
	return nil
}

// authState is what provisionAuth opens.
type authState struct {
	policy *tiers.Engine
	keys   *keys.Keyring
	rates  *limits.RateLimiter
	quotas limits.QuotaStore
	redis  *redis.Client
	// pepper keys the API-key hashes and derives tenants' webhook keys.
	pepper []byte
}

type sharedKeyStore struct{ keys.Store }

func (s sharedKeyStore) Destruct() error { return s.Close() }

type sharedQuotas struct{ limits.QuotaStore }

func (s sharedQuotas) Destruct() error { return s.Close() }

type sharedRates struct{ *limits.RateLimiter }

func (sharedRates) Destruct() error { return nil }

type sharedRedis struct{ *redis.Client }

func (s sharedRedis) Destruct() error { return s.Close() }

// provisionAuth opens the auth state. Files and clients go through the
// usage pool, so a config reload reuses them (and their file locks) rather
// than failing to open them a second time.
func (a *App) provisionAuth(ctx caddy.Context) error {
	if a.Auth == nil {
		a.Auth = &AuthConfig{}
	}
	c := a.Auth
	if err := c.setDefaults(); err != nil {
		return err
	}
	var err error
	if a.auth.policy, err = tiers.New(ctx, tiers.Config{DataFile: c.TiersFile}); err != nil {
		return err
	}
	pepper, err := a.pepper()
	if err != nil {
		return err
	}
	a.auth.pepper = pepper
	var store keys.Store
	if a.Store == StoreRedis {
		rdb, err := a.authRedis()
		if err != nil {
			return err
		}
		store = keys.NewRedis(rdb, a.Redis.Prefix+"auth:")
		a.auth.redis = rdb
		a.auth.quotas = limits.NewRedisQuotas(rdb, a.Redis.Prefix+"quota:", limits.WithTimeout(redisTimeout))
		v, _, err := pool.LoadOrNew("rates:redis:"+a.redisKey(), func() (caddy.Destructor, error) {
			l, err := limits.NewRedisRateLimiter(rdb, a.Redis.Prefix+"rate:", limits.WithTimeout(redisTimeout))
			return sharedRates{l}, err
		})
		if err != nil {
			return fmt.Errorf("opening rate limiter: %w", err)
		}
		a.shared = append(a.shared, keyed{"rates:redis:" + a.redisKey()})
		a.auth.rates = v.(sharedRates).RateLimiter
	} else {
		path := filepath.Join(a.DataDir, "keys.json")
		v, _, err := pool.LoadOrNew("keys:"+path, func() (caddy.Destructor, error) {
			s, err := keys.OpenFile(path)
			return sharedKeyStore{s}, err
		})
		if err != nil {
			return fmt.Errorf("opening key store: %w", err)
		}
		a.shared = append(a.shared, keyed{"keys:" + path})
		store = v.(sharedKeyStore).Store

		qpath := filepath.Join(a.DataDir, "quotas.db")
		v, _, err = pool.LoadOrNew("quotas:"+qpath, func() (caddy.Destructor, error) {
			q, err := limits.OpenBoltQuotas(qpath)
			return sharedQuotas{q}, err
		})
		if err != nil {
			return fmt.Errorf("opening quota store: %w", err)
		}
		a.shared = append(a.shared, keyed{"quotas:" + qpath})
		a.auth.quotas = v.(sharedQuotas).QuotaStore

		v, _, err = pool.LoadOrNew("rates:memory:"+a.DataDir, func() (caddy.Destructor, error) {
			return sharedRates{limits.NewMemoryRateLimiter("rate:")}, nil
		})
		if err != nil {
			return fmt.Errorf("opening rate limiter: %w", err)
		}
		a.shared = append(a.shared, keyed{"rates:memory:" + a.DataDir})
		a.auth.rates = v.(sharedRates).RateLimiter
	}
	a.auth.keys, err = keys.NewKeyring(store, keys.Config{Pepper: pepper, CacheTTL: time.Duration(c.KeyCacheTTL)})
	if err != nil {
		return fmt.Errorf("opening keyring: %w", err)
	}
	return nil
}

func (a *App) redisKey() string {
	return fmt.Sprintf("%s/%d/%s", a.Redis.Addr, a.Redis.DB, a.Redis.Prefix)
}

// authRedis is one client for keys, rates and quotas, with short timeouts:
// these calls sit on every request's path.
func (a *App) authRedis() (*redis.Client, error) {
	key := "authredis:" + a.redisKey()
	v, _, err := pool.LoadOrNew(key, func() (caddy.Destructor, error) {
		return sharedRedis{redis.NewClient(&redis.Options{
			Addr: a.Redis.Addr, Password: a.Redis.Password, DB: a.Redis.DB,
			DialTimeout: redisTimeout / 2, ReadTimeout: redisTimeout, WriteTimeout: redisTimeout,
			PoolSize: redisPool, PoolTimeout: redisTimeout,
			// Fail fast: go-redis' default retries and redials turn a dead
			// server into seconds per call; the callers answer 503 instead.
			MaxRetries: -1, DialerRetries: 1, ContextTimeoutEnabled: true,
		})}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("opening auth redis client: %w", err)
	}
	a.shared = append(a.shared, keyed{key})
	return v.(sharedRedis).Client, nil
}

// pepper reads the key pepper from the environment or the file it names.
// Embedded mode, given neither, keeps a generated one in the data folder:
// a single node needs no operator step, and its keys survive restarts.
func (a *App) pepper() ([]byte, error) {
	if p := os.Getenv(a.Auth.PepperEnv); p != "" {
		return []byte(p), nil
	}
	if f := os.Getenv(a.Auth.PepperFileEnv); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading key pepper: %w", err)
		}
		return []byte(strings.TrimSpace(string(b))), nil
	}
	if a.Store == StoreRedis {
		return nil, fmt.Errorf("redis store: set %s or %s to the API-key pepper every edge shares", a.Auth.PepperEnv, a.Auth.PepperFileEnv)
	}
	path := filepath.Join(a.DataDir, "secrets", "key-pepper")
	b, err := os.ReadFile(path)
	if err == nil {
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading key pepper: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating secrets folder: %w", err)
	}
	p := make([]byte, pepperLen)
	rand.Read(p)
	// O_EXCL: of two first starts, one pepper wins and both read it.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("writing key pepper: %w", err)
	}
	if _, err := f.Write(p); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing key pepper: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing key pepper: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("writing key pepper: %w", err)
	}
	return p, nil
}

// watchPolicy applies tier data edits until ctx ends.
func (a *App) watchPolicy(ctx context.Context) {
	if err := a.auth.policy.Watch(ctx, a.log.With("component", "policy")); err != nil {
		a.log.Error("watching tier data; edits need a config reload", "error", err)
	}
}

// Policy returns the tier policy engine.
func (a *App) Policy() *tiers.Engine { return a.auth.policy }

// Keys returns the API keyring.
func (a *App) Keys() *keys.Keyring { return a.auth.keys }

// Rates returns the request rate limiter.
func (a *App) Rates() *limits.RateLimiter { return a.auth.rates }

// Quotas returns the document quota store.
func (a *App) Quotas() limits.QuotaStore { return a.auth.quotas }

// SharedRedis returns the Redis client the edge's handlers share in the
// redis store (short timeouts, no retries), and the key prefix of this
// deployment; nil in embedded mode.
func (a *App) SharedRedis() (*redis.Client, string) {
	if a.auth.redis == nil {
		return nil, ""
	}
	return a.auth.redis, a.Redis.Prefix
}

// FailOpen reports whether a failing rate or quota store lets requests
// through.
func (a *App) FailOpen() bool { return a.Auth.OnStoreError == FailOpen }

// RateOf is the request rate a decision's limits allow.
func RateOf(l *tiers.Limits) limits.Rate {
	return limits.Rate{Requests: l.Rate.Requests, Period: time.Duration(l.Rate.PeriodSeconds) * time.Second}
}

// QuotaOf is the document quota a decision's limits allow. An unlimited
// quota is still counted, per month, so usage stays visible.
func QuotaOf(l *tiers.Limits) limits.Quota {
	if l.Quota.Unlimited() || l.Quota.Period == nil {
		return limits.Quota{Documents: -1, Period: limits.Month}
	}
	return limits.Quota{Documents: *l.Quota.Documents, Period: limits.Period(*l.Quota.Period)}
}
