package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/auth/oidc/oidctest"
	"github.com/docstrange/mesh/policy"
)

// tierData is the built-in tier data, to change for a test.
func tierData(t *testing.T) map[string]map[string]any {
	t.Helper()
	raw, err := policy.FS.ReadFile(policy.TiersFile)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// writeTiers replaces the tier file atomically, as an operator's tooling
// would.
func writeTiers(t *testing.T, path string, data map[string]map[string]any) {
	t.Helper()
	raw, err := json.MarshalIndent(data, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".tmp", raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// testRate is every tier's request budget in these tests: small enough to
// reach, large enough for the steps before it.
const testRate = 12

// smallTiers keeps the shape of the built-in data with numbers a test can
// reach: testRate requests a minute, two documents a period, 4 KiB for free,
// and no GPU for anyone.
func smallTiers(t *testing.T) map[string]map[string]any {
	data := tierData(t)
	for name, tier := range data {
		tier["rate"] = map[string]any{"requests": testRate, "period_seconds": 60}
		if name != "enterprise" {
			q := tier["quota"].(map[string]any)
			q["documents"] = 2
		}
		tier["features"].(map[string]any)["gpu"] = false
	}
	data["free"]["max_file_size"] = 4096
	return data
}

func textForm(t *testing.T, body string, fields map[string]string) ([]byte, string) {
	t.Helper()
	buf, ct := multipartBody(t, "note.txt", []byte(body), fields)
	return buf.Bytes(), ct
}

// wantError checks an error answer's status, code and envelope.
func wantError(t *testing.T, r *response, status int, code string) api.Envelope {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	env := r.apiError(t)
	if env.Error.Code != code {
		t.Fatalf("code %s, want %s: %s", env.Error.Code, code, r.body)
	}
	return env
}

// wantRateHeaders checks the RateLimit-* headers and returns Remaining.
func wantRateHeaders(t *testing.T, r *response) int {
	t.Helper()
	limit, err1 := strconv.Atoi(r.header.Get("RateLimit-Limit"))
	remaining, err2 := strconv.Atoi(r.header.Get("RateLimit-Remaining"))
	reset, err3 := strconv.Atoi(r.header.Get("RateLimit-Reset"))
	if err1 != nil || err2 != nil || err3 != nil || limit != testRate || remaining < 0 || remaining >= limit || reset < 1 || reset > 60 {
		t.Fatalf("RateLimit headers: limit %q remaining %q reset %q (status %d)", r.header.Get("RateLimit-Limit"),
			r.header.Get("RateLimit-Remaining"), r.header.Get("RateLimit-Reset"), r.status)
	}
	return remaining
}

// TestTiers runs each tier's path on one edge: who the edge says the caller
// is, a 401 for a bad credential of the tier's kind, a 403 from the policy,
// the document quota, and the request rate, all in the error shape with
// the headers.
func TestTiers(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	tiersFile := filepath.Join(t.TempDir(), "tiers.json")
	writeTiers(t, tiersFile, smallTiers(t))
	s := startStack(t,
		"DOCSTRANGE_TIERS_FILE="+tiersFile,
		"DOCSTRANGE_OIDC_ISSUER="+iss.URL,
		"DOCSTRANGE_OIDC_AUDIENCE=docstrange-api",
	)
	acme := s.issueKey("acme", "api_key")
	bigco := s.issueKey("bigco", "enterprise")
	revoked := s.issueKey("gone", "enterprise")
	spy := s.issueKey("spy", "enterprise")
	if r := s.adminJSON(http.MethodDelete, "/admin/v1/keys/"+revoked.ID, nil); r.status != http.StatusOK {
		t.Fatalf("revoking: %d %s", r.status, r.body)
	}
	jwt := iss.Sign(map[string]any{"sub": "user-7", "aud": "docstrange-api"})
	expired := iss.Sign(map[string]any{"sub": "user-7", "aud": "docstrange-api", "exp": time.Now().Add(-time.Hour).Unix()})

	tests := []struct {
		name, cred, badCred string
		tier, tenant        string
		quota               bool // the tier has a document quota
	}{
		{"free", "", "dsk_notakey", "free", "anon:127.0.0.1", true},
		{"api_key", acme.Key, acme.Key[:len(acme.Key)-4] + "AAAA", "api_key", "acme", true},
		{"oauth", jwt, expired, "oauth", "oidc:user-7", true},
		{"enterprise", bigco.Key, revoked.Key, "enterprise", "bigco", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.as(tt.cred, http.MethodGet, "/api/v1/me", nil, "")
			if r.status != http.StatusOK {
				t.Fatalf("me: %d %s", r.status, r.body)
			}
			var me struct {
				Identity struct{ Kind, Tenant, Tier string }
				Limits   struct {
					MaxFileSize int64 `json:"max_file_size"`
				}
			}
			r.json(t, &me)
			if me.Identity.Tier != tt.tier || me.Identity.Tenant != tt.tenant {
				t.Fatalf("me = %+v, want tier %s tenant %s", me, tt.tier, tt.tenant)
			}
			last := wantRateHeaders(t, r)

			r = s.as(tt.badCred, http.MethodGet, "/api/v1/me", nil, "")
			wantError(t, r, http.StatusUnauthorized, api.CodeUnauthenticated)
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer ") {
				t.Fatalf("401 without a Bearer challenge: %q", r.header.Get("WWW-Authenticate"))
			}

			body, ct := textForm(t, "a GPU job", map[string]string{"device": "gpu"})
			r = s.as(tt.cred, http.MethodPost, "/api/v1/documents", body, ct)
			env := wantError(t, r, http.StatusForbidden, api.CodeForbidden)
			if env.Error.Details["reason"] != "FEATURE_NOT_IN_TIER" || env.Error.Details["feature"] != "gpu" {
				t.Fatalf("403 details %v", env.Error.Details)
			}
			if rem := wantRateHeaders(t, r); rem >= last {
				t.Fatalf("RateLimit-Remaining %d after %d: not counting", rem, last)
			}

			// Two documents per period, then QUOTA_EXCEEDED; enterprise has
			// no quota.
			var jobID string
			for i := range 3 {
				body, ct := textForm(t, "document "+strconv.Itoa(i), nil)
				r = s.as(tt.cred, http.MethodPost, "/api/v1/documents", body, ct)
				if i == 2 && tt.quota {
					wantError(t, r, http.StatusTooManyRequests, api.CodeQuotaExceeded)
					if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > 31*86400 {
						t.Fatalf("Retry-After %q on QUOTA_EXCEEDED", r.header.Get("Retry-After"))
					}
					continue
				}
				if r.status != http.StatusAccepted {
					t.Fatalf("submit %d: %d %s", i, r.status, r.body)
				}
				var j api.Job
				r.json(t, &j)
				jobID = j.JobID
			}
			// The job is the tenant's own: visible to it, 404 to everyone
			// else.
			if r := s.as(tt.cred, http.MethodGet, "/api/v1/jobs/"+jobID, nil, ""); r.status != http.StatusOK {
				t.Fatalf("own job: %d %s", r.status, r.body)
			}
			for _, path := range []string{"/api/v1/jobs/" + jobID, "/api/v1/jobs/" + jobID + "/result"} {
				wantError(t, s.as(spy.Key, http.MethodGet, path, nil, ""), http.StatusNotFound, api.CodeJobNotFound)
			}
			wantError(t, s.as(spy.Key, http.MethodDelete, "/api/v1/jobs/"+jobID, nil, ""), http.StatusNotFound, api.CodeJobNotFound)

			// Spend the rest of the budget: RATE_LIMIT_EXCEEDED with
			// Retry-After and Remaining 0.
			for i := 0; ; i++ {
				r = s.as(tt.cred, http.MethodGet, "/api/v1/me", nil, "")
				if r.status == http.StatusTooManyRequests {
					break
				}
				if r.status != http.StatusOK || i > testRate {
					t.Fatalf("request %d: %d %s", i, r.status, r.body)
				}
			}
			env = wantError(t, r, http.StatusTooManyRequests, api.CodeRateLimitExceeded)
			if r.header.Get("RateLimit-Remaining") != "0" || r.header.Get("RateLimit-Limit") != strconv.Itoa(testRate) {
				t.Fatalf("429 headers: %v", r.header)
			}
			if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
				t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
			}
			if env.Error.Details["tier"] != tt.tier {
				t.Fatalf("429 details %v", env.Error.Details)
			}
		})
	}

	t.Run("size limit from edited tier data", func(t *testing.T) {
		// The edit applies without a restart.
		data := smallTiers(t)
		data["api_key"]["max_file_size"] = 4096
		writeTiers(t, tiersFile, data)
		deadline := time.Now().Add(5 * time.Second)
		for {
			var inForce map[string]struct {
				MaxFileSize int64 `json:"max_file_size"`
			}
			s.adminJSON(http.MethodGet, "/admin/v1/tiers", nil).json(t, &inForce)
			if inForce["api_key"].MaxFileSize == 4096 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the tier data edit did not apply within 5s: %+v", inForce)
			}
			time.Sleep(50 * time.Millisecond)
		}
		fresh := s.issueKey("sizes", "api_key")
		body, ct := textForm(t, strings.Repeat("x", 5000), nil)
		r := s.as(fresh.Key, http.MethodPost, "/api/v1/documents", body, ct)
		env := wantError(t, r, http.StatusRequestEntityTooLarge, api.CodeFileTooLarge)
		if env.Error.Details["max_size"] != float64(4096) {
			t.Fatalf("413 details %v", env.Error.Details)
		}
		// Under the limit passes.
		body, ct = textForm(t, strings.Repeat("x", 3000), nil)
		if r := s.as(fresh.Key, http.MethodPost, "/api/v1/documents", body, ct); r.status != http.StatusAccepted {
			t.Fatalf("a document under the edited limit: %d %s", r.status, r.body)
		}
	})

	t.Run("no secret in the logs", func(t *testing.T) {
		logs := s.logs.String()
		for name, secret := range map[string]string{"api key": acme.Key, "enterprise key": bigco.Key, "jwt": jwt, "expired jwt": expired} {
			if strings.Contains(logs, secret) {
				t.Errorf("the edge logged the %s", name)
			}
			// A key's secret half must not appear either.
			if i := strings.LastIndex(secret, "_"); strings.HasPrefix(secret, "dsk_") && strings.Contains(logs, secret[i+1:]) {
				t.Errorf("the edge logged the %s's secret", name)
			}
		}
		// The requests made with those credentials are in the access log,
		// named by tenant and tier.
		var sawAcme bool
		// Each request is logged once: the access log has its own sink, and
		// the default log excludes it.
		seen := map[string]bool{}
		for _, line := range strings.Split(logs, "\n") {
			var e struct {
				Logger, Tenant, Tier, Route string
				RequestID                   string `json:"request_id"`
				Status                      int
			}
			if json.Unmarshal([]byte(line), &e) != nil || e.Logger != "http.log.access" {
				continue
			}
			if e.RequestID == "" || seen[e.RequestID] {
				t.Fatalf("an access log line without a request id, or logged twice: %s", line)
			}
			seen[e.RequestID] = true
			if strings.Contains(line, `"headers"`) {
				t.Fatalf("an access log line has headers: %s", line)
			}
			if e.Tenant == "acme" && e.Tier == "api_key" && e.Status/100 == 2 && e.Route != "" {
				sawAcme = true
			}
		}
		if !sawAcme {
			t.Errorf("the access log has no 2xx for tenant acme:\n%s", logs)
		}
	})
}

// TestTrustedProxies: behind a proxy the operator trusts, the anonymous
// tenant is the client the proxy names; without that trust the header is
// ignored (the caddytest chain test covers that side).
func TestTrustedProxies(t *testing.T) {
	s := startStack(t, "DOCSTRANGE_TRUSTED_PROXIES=127.0.0.1/32", "DOCSTRANGE_WORKERS=-1")
	tenant := func(xff string) string {
		req, _ := http.NewRequest(http.MethodGet, s.base+"/api/v1/me", nil)
		req = anonymous(req)
		req.Header.Set("X-Forwarded-For", xff)
		r := s.do(req)
		if r.status != http.StatusOK {
			t.Fatalf("me: %d %s", r.status, r.body)
		}
		var me struct{ Identity struct{ Tenant string } }
		r.json(t, &me)
		return me.Identity.Tenant
	}
	if got := tenant("203.0.113.9"); got != "anon:203.0.113.9" {
		t.Fatalf("tenant behind a trusted proxy = %s", got)
	}
	if got := tenant("2001:db8:1:2::7"); got != "anon:2001:db8:1:2::/64" {
		t.Fatalf("IPv6 tenant behind a trusted proxy = %s", got)
	}
}
