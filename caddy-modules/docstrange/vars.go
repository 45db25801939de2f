package docstrange

import (
	"context"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/docstrange/mesh/auth"
	"github.com/docstrange/mesh/auth/tiers"
)

// Caddy request variables our handlers share. Using caddyhttp vars keeps the
// handler modules independent of each other: the authn module sets the
// identity, authz the decision, the jobs module reads both, the instrument
// module reads the route.
const (
	// VarRequestID holds the request id set by the request_id handler.
	VarRequestID = "docstrange.request_id"
	// VarIdentity holds the *auth.Identity set by the authn handler: the
	// caller's tenant and tier with it. Unset means no caller was
	// authenticated (a public route).
	VarIdentity = "docstrange.identity"
	// VarDecision holds the *tiers.Decision set by the authz handler.
	VarDecision = "docstrange.decision"
	// VarRoute holds the route pattern that served the request, for metrics.
	VarRoute = "docstrange.route"
)

// SetIdentity records the caller of r for the handlers after authn.
//
// One var, not one each for the tenant and the tier as well: Caddy keeps a
// request's vars in a map, and those two entries took a chain request's
// past one map group (8 slots), which cost 1.6 µs a request under the
// chain bench.
func SetIdentity(r *http.Request, id *auth.Identity) {
	caddyhttp.SetVar(r.Context(), VarIdentity, id)
}

// IdentityOf returns the caller authn recorded, or nil.
func IdentityOf(r *http.Request) *auth.Identity {
	id, _ := caddyhttp.GetVar(r.Context(), VarIdentity).(*auth.Identity)
	return id
}

// IdentityFrom returns the caller authn recorded in a request context, or
// nil: for callbacks (tusd's hooks) that get the context, not the request.
func IdentityFrom(ctx context.Context) *auth.Identity {
	id, _ := caddyhttp.GetVar(ctx, VarIdentity).(*auth.Identity)
	return id
}

// DecisionFrom returns the decision authz recorded in a request context,
// or nil.
func DecisionFrom(ctx context.Context) *tiers.Decision {
	d, _ := caddyhttp.GetVar(ctx, VarDecision).(*tiers.Decision)
	return d
}

// SetDecision records the policy decision for the handlers after authz.
func SetDecision(r *http.Request, d *tiers.Decision) {
	caddyhttp.SetVar(r.Context(), VarDecision, d)
}

// DecisionOf returns the decision authz recorded, or nil.
func DecisionOf(r *http.Request) *tiers.Decision {
	d, _ := caddyhttp.GetVar(r.Context(), VarDecision).(*tiers.Decision)
	return d
}
