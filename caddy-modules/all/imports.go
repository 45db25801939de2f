// Package all blank-imports every DocStrange Caddy module, the way Caddy's
// modules/standard does for its own; a main imports this one package.
package all

import (
	// Caddy's standard modules: file server, reverse proxy, TLS, matchers.
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/docstrange/mesh/caddy-modules/admin"
	_ "github.com/docstrange/mesh/caddy-modules/apierror"
	_ "github.com/docstrange/mesh/caddy-modules/authn"
	_ "github.com/docstrange/mesh/caddy-modules/authz"
	_ "github.com/docstrange/mesh/caddy-modules/cors"
	_ "github.com/docstrange/mesh/caddy-modules/docs"
	_ "github.com/docstrange/mesh/caddy-modules/docstrange"
	_ "github.com/docstrange/mesh/caddy-modules/hsts"
	_ "github.com/docstrange/mesh/caddy-modules/instrument"
	_ "github.com/docstrange/mesh/caddy-modules/jobs"
	_ "github.com/docstrange/mesh/caddy-modules/metrics"
	_ "github.com/docstrange/mesh/caddy-modules/ratelimit"
	_ "github.com/docstrange/mesh/caddy-modules/requestid"
	_ "github.com/docstrange/mesh/caddy-modules/tus"
)
