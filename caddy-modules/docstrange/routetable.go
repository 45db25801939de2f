package docstrange

import (
	"fmt"
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
	// index is one ServeMux over every table's patterns, each once (the
	// tables have a copy per server), so that a request is matched with
	// one lookup. Looking in each table in turn cost a miss in the others,
	// and a ServeMux miss is its dearest case: it lists the path's other
	// methods for a 405.
	index   *http.ServeMux
	indexed map[string]bool
}

// RegisterRoutes adds a handler module's routes. Modules call it from
// Provision; a config reload provisions a new app with a fresh table. It
// fails when a pattern conflicts with another module's (the standard
// library's ServeMux rules), which would leave one of them unreachable.
func (a *App) RegisterRoutes(rt *Routes) error {
	a.routes.mu.Lock()
	defer a.routes.mu.Unlock()
	if a.routes.index == nil {
		a.routes.index, a.routes.indexed = http.NewServeMux(), map[string]bool{}
	}
	for _, p := range rt.allPatterns() {
		if a.routes.indexed[p] {
			continue
		}
		if err := handleChecked(a.routes.index, p); err != nil {
			return err
		}
		a.routes.indexed[p] = true
	}
	a.routes.list = append(a.routes.list, rt)
	rt.app = a
	return nil
}

// handleChecked registers pattern on mux, turning ServeMux's panic on a
// conflicting pattern into an error. The handler is never called: the
// index only finds patterns.
func handleChecked(mux *http.ServeMux, pattern string) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("route %q: %v", pattern, v)
		}
	}()
	mux.Handle(pattern, http.NotFoundHandler())
	return nil
}

// MatchRoute finds the route r will be served by. ok is false when no
// registered route has r's path. A known path with a method it does not
// take returns ok with an empty method: its handler answers 405.
func (a *App) MatchRoute(r *http.Request) (method, route string, ok bool) {
	m := a.match(r)
	if m.pattern == "" {
		return "", "", false
	}
	if m, path, found := strings.Cut(m.pattern, " "); found {
		return m, path, true
	}
	return "", m.pattern, true
}

// routeMatch is the registered route a request belongs to, kept in the
// request's Caddy vars: the docs, authz, tus and jobs handlers each need
// it. Matched afresh per handler, in each table, a job API request took
// seven ServeMux lookups; the edge's CPU profile under the chain bench
// had them at 3% of its time, a quarter of what the chain added.
type routeMatch struct {
	app *App
	// method and path are what was matched, so that a handler rewriting
	// the request in between gets a new match rather than a stale one.
	method, path string
	// pattern is the matching pattern, "" when no table has the path.
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
	if a.routes.index != nil {
		_, m.pattern = a.routes.index.Handler(r)
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
