package docstrange

import (
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// routeTable is every route the app's handler modules serve, so the authz
// handler can name the route of a request before the handler that serves
// it runs: the policy decides on patterns ("/api/v1/jobs/{id}"), never on
// raw paths.
type routeTable struct {
	mu   sync.RWMutex
	list []*Routes
}

// RegisterRoutes adds a handler module's routes. Modules call it from
// Provision; a config reload provisions a new app with a fresh table.
func (a *App) RegisterRoutes(rt *Routes) {
	a.routes.mu.Lock()
	a.routes.list = append(a.routes.list, rt)
	rt.app = a
	a.routes.mu.Unlock()
}

// MatchRoute finds the route r will be served by. ok is false when no
// registered route has r's path. A known path with a method it does not
// take returns ok with an empty method: its handler answers 405.
func (a *App) MatchRoute(r *http.Request) (method, route string, ok bool) {
	m := a.match(r)
	if m.rt == nil {
		return "", "", false
	}
	if m, path, found := strings.Cut(m.pattern, " "); found {
		return m, path, true
	}
	return "", m.pattern, true
}

// routeMatch is the registered route a request belongs to, kept in the
// request's Caddy vars: the docs, authz, tus and jobs handlers each need
// it, and each ServeMux lookup allocates, a miss most (it also looks for
// a redirect and for other methods). Matched afresh per handler, a job API
// request took seven lookups; the edge's CPU profile under load had them
// at 4% of its time, half of what the auth chain costs.
type routeMatch struct {
	app *App
	// method and path are what was matched, so that a handler rewriting
	// the request in between gets a new match rather than a stale one.
	method, path string
	// rt is the first registered table with a matching pattern; nil when
	// none has the path. Another copy of it (another server's) serves the
	// same patterns.
	rt      *Routes
	pattern string
}

const varRouteMatch = "docstrange.route_match"

// match returns r's route, matching it at most once per request.
func (a *App) match(r *http.Request) *routeMatch {
	if m, ok := caddyhttp.GetVar(r.Context(), varRouteMatch).(*routeMatch); ok &&
		m.app == a && m.method == r.Method && m.path == r.URL.Path {
		return m
	}
	m := &routeMatch{app: a, method: r.Method, path: r.URL.Path}
	a.routes.mu.RLock()
	for _, rt := range a.routes.list {
		if _, pattern := rt.mux.Handler(r); pattern != "" {
			m.rt, m.pattern = rt, pattern
			break
		}
	}
	a.routes.mu.RUnlock()
	caddyhttp.SetVar(r.Context(), varRouteMatch, m)
	return m
}

// RoutePatterns lists every "METHOD /path" pattern the app's handler
// modules registered, sorted.
func (a *App) RoutePatterns() []string {
	a.routes.mu.RLock()
	defer a.routes.mu.RUnlock()
	var out []string
	for _, rt := range a.routes.list {
		out = append(out, rt.Patterns()...)
	}
	sort.Strings(out)
	return out
}
