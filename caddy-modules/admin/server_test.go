package admin_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/docstrange/mesh/api"
	_ "github.com/docstrange/mesh/caddy-modules/all"
	"github.com/docstrange/mesh/internal/caddyharness"
)

const (
	tokenEnv = "DS_ADMIN_TEST_TOKEN"
	token    = "admin-test-token-0123456789"
)

// TestAdminAPI runs the admin handler in a real Caddy: once with its token
// in the environment and once (under /off) without, where it must refuse
// everything.
func TestAdminAPI(t *testing.T) {
	t.Setenv(tokenEnv, token)
	tester, base := caddyharness.Start(t, fmt.Sprintf(`
		docstrange {
			data_dir %q
			workers -1
		}`, t.TempDir()), `
		route {
			docstrange_errors
			request_id
			handle /off/* {
				uri strip_prefix /off
				docstrange_admin {
					token_env DS_ADMIN_TEST_UNSET
				}
			}
			docstrange_admin {
				token_env `+tokenEnv+`
			}
			error "no route for {method} {path}" 404
		}
		handle_errors {
			docstrange_errors
		}`)

	do := func(t *testing.T, method, path, auth string, body string) (*http.Response, []byte) {
		t.Helper()
		headers := map[string]string{}
		if auth != "" {
			headers["Authorization"] = auth
		}
		if body != "" {
			headers["Content-Type"] = "application/json"
		}
		return caddyharness.Do(t, tester.Client, method, base+path, headers, []byte(body))
	}
	wantError := func(t *testing.T, resp *http.Response, b []byte, status int, code string) *api.Error {
		t.Helper()
		var env api.Envelope
		if resp.StatusCode != status || json.Unmarshal(b, &env) != nil || env.Error == nil || env.Error.Code != code {
			t.Fatalf("got %d %s, want %d %s", resp.StatusCode, b, status, code)
		}
		return env.Error
	}
	admin := "Bearer " + token

	t.Run("the token is required", func(t *testing.T) {
		for _, auth := range []string{"", "Bearer wrong", "Basic " + token, "Bearer " + token + "x", token} {
			resp, b := do(t, http.MethodGet, "/admin/v1/keys", auth, "")
			wantError(t, resp, b, http.StatusUnauthorized, api.CodeUnauthenticated)
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 for %q without WWW-Authenticate", auth)
			}
		}
	})

	t.Run("without a token in the environment everything is refused", func(t *testing.T) {
		for _, r := range []struct{ method, path, body string }{
			{http.MethodGet, "/admin/v1/keys", ""},
			{http.MethodPost, "/admin/v1/keys", `{"tenant":"acme","tier":"api_key"}`},
			{http.MethodDelete, "/admin/v1/keys/key_x", ""},
			{http.MethodGet, "/admin/v1/tiers", ""},
			{http.MethodGet, "/admin/v1/backends", ""},
		} {
			for _, auth := range []string{"", admin, "Bearer "} {
				resp, b := do(t, r.method, "/off"+r.path, auth, r.body)
				e := wantError(t, resp, b, http.StatusForbidden, api.CodeForbidden)
				if !strings.Contains(e.Message, "DS_ADMIN_TEST_UNSET") {
					t.Errorf("the refusal does not name the variable to set: %s", e.Message)
				}
			}
		}
	})

	t.Run("bad key requests", func(t *testing.T) {
		for _, c := range []struct{ name, body, field string }{
			{"not json", `{"tenant":`, "body"},
			{"unknown field", `{"tenant":"acme","tier":"api_key","tenat":"x"}`, "tenat"},
			{"unknown tier", `{"tenant":"acme","tier":"platinum"}`, "tier"},
			{"no tenant", `{"tier":"api_key"}`, "tenant"},
			{"bad tenant", `{"tenant":"a b","tier":"api_key"}`, "tenant"},
			{"no tier", `{"tenant":"acme"}`, "tier"},
			{"two json values", `{"tenant":"acme","tier":"api_key"} {"tenant":"evil","tier":"enterprise"}`, "body"},
		} {
			t.Run(c.name, func(t *testing.T) {
				resp, b := do(t, http.MethodPost, "/admin/v1/keys", admin, c.body)
				e := wantError(t, resp, b, http.StatusBadRequest, api.CodeInvalidRequest)
				if e.Details["field"] != c.field {
					t.Fatalf("field %v, want %s: %s", e.Details["field"], c.field, b)
				}
			})
		}
		// A body over the limit is refused before it is read to the end.
		resp, b := do(t, http.MethodPost, "/admin/v1/keys", admin, `{"tenant":"acme","tier":"api_key","name":"`+strings.Repeat("n", 1<<20)+`"}`)
		if e := wantError(t, resp, b, http.StatusBadRequest, api.CodeInvalidRequest); e.Details["field"] != "body" {
			t.Fatalf("an oversized body: %s", b)
		}
	})

	t.Run("issue, list, show, revoke", func(t *testing.T) {
		resp, b := do(t, http.MethodPost, "/admin/v1/keys", admin, `{"tenant":"acme","tier":"api_key","name":"ci"}`)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("issue: %d %s", resp.StatusCode, b)
		}
		var k struct {
			ID, Key, Tenant, Tier, Name string
			RevokedAt                   *string `json:"revoked_at"`
		}
		json.Unmarshal(b, &k)
		if !strings.HasPrefix(k.Key, "dsk_") || k.ID == "" || k.Tenant != "acme" || k.Tier != "api_key" || k.Name != "ci" {
			t.Fatalf("issued %s", b)
		}
		if got := resp.Header.Get("Location"); got != "/admin/v1/keys/"+k.ID {
			t.Fatalf("Location %q", got)
		}
		secret := k.Key[strings.LastIndex(k.Key, "_")+1:]

		// Neither the list nor one key shows the secret or its hash again.
		resp, b = do(t, http.MethodGet, "/admin/v1/keys", admin, "")
		if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(k.ID)) {
			t.Fatalf("list: %d %s", resp.StatusCode, b)
		}
		for _, r := range []string{"/admin/v1/keys", "/admin/v1/keys/" + k.ID} {
			_, b = do(t, http.MethodGet, r, admin, "")
			if bytes.Contains(b, []byte(secret)) || bytes.Contains(b, []byte(`"hash"`)) || bytes.Contains(b, []byte(`"key"`)) {
				t.Fatalf("%s shows the secret: %s", r, b)
			}
		}

		resp, b = do(t, http.MethodGet, "/admin/v1/keys/key_nope", admin, "")
		if e := wantError(t, resp, b, http.StatusNotFound, api.CodeNotFound); e.Details["key_id"] != "key_nope" {
			t.Fatalf("404 details %v", e.Details)
		}
		resp, b = do(t, http.MethodDelete, "/admin/v1/keys/key_nope", admin, "")
		wantError(t, resp, b, http.StatusNotFound, api.CodeNotFound)

		// Revoking twice is not an error, and the key says it is revoked.
		for range 2 {
			resp, b = do(t, http.MethodDelete, "/admin/v1/keys/"+k.ID, admin, "")
			k.RevokedAt = nil
			if json.Unmarshal(b, &k); resp.StatusCode != http.StatusOK || k.RevokedAt == nil {
				t.Fatalf("revoke: %d %s", resp.StatusCode, b)
			}
		}
		_, b = do(t, http.MethodGet, "/admin/v1/keys/"+k.ID, admin, "")
		if json.Unmarshal(b, &k); k.RevokedAt == nil {
			t.Fatalf("a revoked key reads %s", b)
		}
	})

	t.Run("tiers in force", func(t *testing.T) {
		resp, b := do(t, http.MethodGet, "/admin/v1/tiers", admin, "")
		var tiers map[string]json.RawMessage
		if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &tiers) != nil {
			t.Fatalf("tiers: %d %s", resp.StatusCode, b)
		}
		for _, name := range []string{"free", "api_key", "oauth", "enterprise"} {
			if _, ok := tiers[name]; !ok {
				t.Errorf("tier %s missing from %s", name, b)
			}
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
		}
	})

	t.Run("unknown admin route", func(t *testing.T) {
		resp, b := do(t, http.MethodGet, "/admin/v1/nothing", admin, "")
		wantError(t, resp, b, http.StatusNotFound, api.CodeNotFound)
	})
}
