package jobs

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/caddy-modules/docstrange"
	"github.com/docstrange/mesh/scheduler"
)

// tenant is the caller's identity for ownership checks. Until the authn
// module sets one, a caller is the anonymous tenant of its client IP, which
// Caddy derives honouring trusted_proxies.
func tenant(r *http.Request) string {
	if id := docstrange.IdentityOf(r); id != nil && id.Tenant != "" {
		return id.Tenant
	}
	ip, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
	if ip == "" {
		ip, _, _ = net.SplitHostPort(r.RemoteAddr)
	}
	return "anon:" + ip
}

func requestID(r *http.Request) string {
	id, _ := caddyhttp.GetVar(r.Context(), docstrange.VarRequestID).(string)
	return id
}

func errJobNotFound(id string) *api.Error {
	return api.Errorf(http.StatusNotFound, api.CodeJobNotFound, "no job with id %q", id).With("job_id", id)
}

// load returns the caller's job; another tenant's job is reported missing,
// never forbidden, so ids cannot be probed.
func (h *Handler) load(r *http.Request, id string) (*scheduler.Job, *api.Error) {
	j, err := h.app.Jobs().Get(r.Context(), id)
	if errors.Is(err, scheduler.ErrNotFound) || err == nil && j.Tenant != tenant(r) {
		return nil, errJobNotFound(id)
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "reading job", "job_id", id, "error", err)
		return nil, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "the job store is unavailable")
	}
	return j, nil
}

func view(j *scheduler.Job) api.Job { return j.View() }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeJSONLine writes v as one line of JSON ending in a newline, as an SSE
// data field needs.
func writeJSONLine(w io.Writer, v any) {
	json.NewEncoder(w).Encode(v)
}
