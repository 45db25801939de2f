package docstrange

// Caddy request variables our handlers share. Using caddyhttp vars keeps the
// handler modules independent of each other: the authn module sets the
// tenant, the jobs module reads it, the instrument module reads the route.
const (
	// VarRequestID holds the request id set by the request_id handler.
	VarRequestID = "docstrange.request_id"
	// VarTenant holds the authenticated tenant; unset means anonymous.
	VarTenant = "docstrange.tenant"
	// VarRoute holds the route pattern that served the request, for metrics.
	VarRoute = "docstrange.route"
)
