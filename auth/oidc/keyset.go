package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Log keys.
const (
	logKeyURL   = "url"
	logKeyError = "error"
)

const (
	// maxJWKSBytes bounds a key set document; real ones are a few KiB.
	maxJWKSBytes = 1 << 20
	// failureBackoff is the most a failed fetch delays the next attempt.
	failureBackoff = time.Second
)

// attemptKey is the context key of the *attempt of one Verify call.
type attemptKey struct{}

// attempt records what the key set saw during one Verify call. go-oidc
// flattens the errors of a KeySet into text, so this is how Verify tells an
// unreachable identity provider from a bad signature, and a bad signature
// from a claim go-oidc refused after the signature held.
type attempt struct {
	payload []byte
	err     error
}

// keySet is the JWKS cache: go-oidc's KeySet, fetched again when a token
// names a key it does not hold (key rotation), but no more often than
// minRefresh, and with errors that say whether the provider was reachable.
type keySet struct {
	url        string
	algs       []jose.SignatureAlgorithm
	client     *http.Client
	log        *slog.Logger
	now        func() time.Time
	minRefresh time.Duration
	retry      time.Duration
	flight     flight[[]jose.JSONWebKey]

	mu        sync.Mutex
	keys      []jose.JSONWebKey
	fetchedAt time.Time // of the last attempt, successful or not
	fetchErr  error     // of the last attempt
}

func newKeySet(cfg Config, jwksURL string, algs []jose.SignatureAlgorithm) *keySet {
	return &keySet{
		url:        jwksURL,
		algs:       algs,
		client:     cfg.HTTPClient,
		log:        cfg.Logger,
		now:        cfg.Now,
		minRefresh: cfg.MinRefreshInterval,
		retry:      min(cfg.MinRefreshInterval, failureBackoff),
	}
}

// VerifySignature implements oidc.KeySet. go-oidc has already checked the
// algorithm against the allowed list.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	payload, err := k.verify(ctx, raw)
	if a, ok := ctx.Value(attemptKey{}).(*attempt); ok {
		a.payload, a.err = payload, err
	}
	return payload, err
}

func (k *keySet) verify(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, k.algs)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, invalid("malformed token")
	}
	k.mu.Lock()
	cached := k.keys
	k.mu.Unlock()
	if payload, ok := verifyWith(jws, cached); ok {
		return payload, nil
	}
	keys, err := k.refresh(ctx)
	if err != nil {
		return nil, err
	}
	if payload, ok := verifyWith(jws, keys); ok {
		return payload, nil
	}
	kid := jws.Signatures[0].Header.KeyID
	if kid != "" && !slices.ContainsFunc(keys, func(key jose.JSONWebKey) bool { return key.KeyID == kid }) {
		return nil, invalid("unknown signing key")
	}
	return nil, invalid("signature invalid")
}

// verifyWith tries the keys that may have signed jws: the one it names, or
// all of them when it names none.
func verifyWith(jws *jose.JSONWebSignature, keys []jose.JSONWebKey) ([]byte, bool) {
	hdr := jws.Signatures[0].Header
	for i := range keys {
		key := &keys[i]
		if hdr.KeyID != "" && key.KeyID != hdr.KeyID {
			continue
		}
		if key.Algorithm != "" && key.Algorithm != hdr.Algorithm {
			continue
		}
		if payload, err := jws.Verify(key.Key); err == nil {
			return payload, true
		}
	}
	return nil, false
}

// refresh returns the key set, fetched again unless the last fetch is too
// recent.
func (k *keySet) refresh(ctx context.Context) ([]jose.JSONWebKey, error) {
	if keys, ok, err := k.throttled(); ok {
		return keys, err
	}
	keys, err := k.flight.do(ctx, func(ctx context.Context) ([]jose.JSONWebKey, error) {
		if keys, ok, err := k.throttled(); ok {
			return keys, err
		}
		keys, err := k.fetch(ctx)
		if err != nil {
			k.log.WarnContext(ctx, "fetching the OIDC signing keys failed", logKeyURL, k.url, logKeyError, err)
			err = fmt.Errorf("fetching signing keys: %w", ErrUnavailable)
		}
		k.mu.Lock()
		defer k.mu.Unlock()
		k.fetchedAt, k.fetchErr = k.now(), err
		if err != nil {
			return nil, err
		}
		k.keys = keys
		return keys, nil
	})
	if ctxErr := ctx.Err(); err != nil && ctxErr != nil {
		return nil, fmt.Errorf("fetching signing keys: %w", errors.Join(ErrUnavailable, ctxErr))
	}
	return keys, err
}

// throttled returns the outcome of the last fetch when it is too recent to
// fetch again.
func (k *keySet) throttled() ([]jose.JSONWebKey, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.fetchedAt.IsZero() {
		return nil, false, nil
	}
	since := k.now().Sub(k.fetchedAt)
	switch {
	case k.fetchErr == nil && since < k.minRefresh:
		return k.keys, true, nil
	case k.fetchErr != nil && since < k.retry:
		return nil, true, k.fetchErr
	}
	return nil, false, nil
}

func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("requesting key set: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("requesting key set: status %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading key set: %w", err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("reading key set: larger than %d bytes", maxJWKSBytes)
	}
	return parseKeySet(body)
}

// parseKeySet keeps the public signing keys of a JWKS document and skips,
// as RFC 7517 §5 asks, the keys it cannot use.
func parseKeySet(body []byte) ([]jose.JSONWebKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("decoding key set: %w", err)
	}
	var keys []jose.JSONWebKey
	for _, raw := range doc.Keys {
		var key jose.JSONWebKey
		if err := json.Unmarshal(raw, &key); err != nil {
			continue
		}
		if !key.Valid() || !key.IsPublic() || (key.Use != "" && key.Use != "sig") {
			continue
		}
		if key.Algorithm != "" && !slices.Contains(supportedAlgorithms, key.Algorithm) {
			continue
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, errors.New("decoding key set: no usable signing key")
	}
	return keys, nil
}
