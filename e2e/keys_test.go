package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"
)

// issuedKey is the admin API's answer to POST /admin/v1/keys.
type issuedKey struct {
	ID        string     `json:"id"`
	Key       string     `json:"key"`
	Tenant    string     `json:"tenant"`
	Tier      string     `json:"tier"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// adminJSON calls the admin API with the stack's admin token.
func (s *stack) adminJSON(method, path string, body any) *response {
	s.t.Helper()
	var buf bytes.Buffer
	if body != nil {
		json.NewEncoder(&buf).Encode(body)
	}
	req, _ := http.NewRequest(method, s.admin+path, &buf)
	req = anonymous(req)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	return s.do(req)
}

// issueKey creates an API key through the admin API.
func (s *stack) issueKey(tenant, tier string) issuedKey {
	s.t.Helper()
	r := s.adminJSON(http.MethodPost, "/admin/v1/keys", map[string]string{"tenant": tenant, "tier": tier})
	if r.status != http.StatusCreated {
		s.t.Fatalf("issuing a key: %d %s", r.status, r.body)
	}
	var k issuedKey
	r.json(s.t, &k)
	if k.Key == "" || k.ID == "" || k.Tenant != tenant || k.Tier != tier {
		s.t.Fatalf("issued key %+v for %s/%s", k, tenant, tier)
	}
	return k
}

// as sends a request with the given credential header ("" for none).
func (s *stack) as(cred, method, path string, body []byte, contentType string) *response {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.base+path, bytes.NewReader(body))
	req = anonymous(req)
	if cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return s.do(req)
}
