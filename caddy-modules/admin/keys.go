package admin

import (
	"errors"
	"net/http"
	"strings"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/auth/keys"
)

// maxKeyBody bounds POST /admin/v1/keys.
const maxKeyBody = 16 << 10

// keyRequest is POST /admin/v1/keys.
type keyRequest struct {
	Tenant string `json:"tenant"`
	Tier   string `json:"tier"`
	Name   string `json:"name,omitempty"`
}

// issuedKey is the answer to POST /admin/v1/keys: the only time the key
// string is shown.
type issuedKey struct {
	keys.Key
	Secret string `json:"key"`
}

// createKey issues an API key for a tenant at a tier the policy knows.
func (h *Handler) createKey(w http.ResponseWriter, r *http.Request) {
	var req keyRequest
	if err := api.DecodeJSON(http.MaxBytesReader(w, r.Body, maxKeyBody), &req); err != nil {
		field := "body"
		if uf := (*api.UnknownFieldError)(nil); errors.As(err, &uf) {
			field = uf.Field
		}
		api.WriteError(w, api.Errorf(http.StatusBadRequest, api.CodeInvalidRequest, "the body must be one JSON object {tenant, tier, name?}: %v", err).With("field", field))
		return
	}
	if req.Tier != "" && !h.app.Policy().HasTier(req.Tier) {
		api.WriteError(w, api.Errorf(http.StatusBadRequest, api.CodeInvalidRequest, "tier %q is not in the policy data; known tiers: %s", req.Tier, strings.Join(h.app.Policy().Tiers(), ", ")).
			With("field", "tier"))
		return
	}
	k, secret, err := h.app.Keys().Issue(r.Context(), req.Tenant, req.Tier, req.Name)
	var fe *keys.FieldError
	switch {
	case errors.As(err, &fe):
		api.WriteError(w, api.Errorf(http.StatusBadRequest, api.CodeInvalidRequest, "%s", fe.Error()).With("field", fe.Field))
		return
	case err != nil:
		h.log.ErrorContext(r.Context(), "issuing api key", "error", err)
		api.WriteError(w, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "the key store is unavailable; no key was issued"))
		return
	}
	h.log.InfoContext(r.Context(), "api key issued", "key_id", k.ID, "tenant", k.Tenant, "tier", k.Tier)
	w.Header().Set("Location", "/admin/v1/keys/"+k.ID)
	writeJSON(w, http.StatusCreated, issuedKey{Key: k, Secret: secret})
}

// listKeys lists every key, revoked ones included, without secrets.
func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request) {
	ks, err := h.app.Keys().List(r.Context())
	if err != nil {
		h.log.ErrorContext(r.Context(), "listing api keys", "error", err)
		api.WriteError(w, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "the key store is unavailable"))
		return
	}
	if ks == nil {
		ks = []keys.Key{}
	}
	writeJSON(w, http.StatusOK, struct {
		Keys []keys.Key `json:"keys"`
	}{ks})
}

// getKey shows one key without its secret.
func (h *Handler) getKey(w http.ResponseWriter, r *http.Request) {
	k, err := h.app.Keys().Get(r.Context(), r.PathValue("id"))
	h.answerKey(w, r, k, err)
}

// revokeKey revokes a key. This edge refuses it at once; every other edge
// within its key cache TTL (under 1 s). Revoking twice is not an error.
func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request) {
	k, err := h.app.Keys().Revoke(r.Context(), r.PathValue("id"))
	if err == nil {
		h.log.InfoContext(r.Context(), "api key revoked", "key_id", k.ID, "tenant", k.Tenant)
	}
	h.answerKey(w, r, k, err)
}

func (h *Handler) answerKey(w http.ResponseWriter, r *http.Request, k keys.Key, err error) {
	switch {
	case errors.Is(err, keys.ErrNotFound):
		api.WriteError(w, api.Errorf(http.StatusNotFound, api.CodeNotFound, "no API key %q", r.PathValue("id")).With("key_id", r.PathValue("id")))
	case err != nil:
		h.log.ErrorContext(r.Context(), "reading api key", "error", err)
		api.WriteError(w, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "the key store is unavailable"))
	default:
		writeJSON(w, http.StatusOK, k)
	}
}

// tiersView is GET /admin/v1/tiers: the tier data in force, so an operator
// can see that an edit has been applied.
func (h *Handler) listTiers(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(h.app.Policy().Data())
}
