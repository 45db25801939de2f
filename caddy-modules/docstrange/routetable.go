package docstrange

import (
	"net/http"
	"sort"
	"strings"
	"sync"
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
	a.routes.mu.Unlock()
}

// MatchRoute finds the route r will be served by. ok is false when no
// registered route has r's path. A known path with a method it does not
// take returns ok with an empty method: its handler answers 405.
func (a *App) MatchRoute(r *http.Request) (method, route string, ok bool) {
	a.routes.mu.RLock()
	defer a.routes.mu.RUnlock()
	for _, rt := range a.routes.list {
		_, pattern := rt.mux.Handler(r)
		if pattern == "" {
			continue
		}
		if m, path, found := strings.Cut(pattern, " "); found {
			return m, path, true
		}
		return "", pattern, true
	}
	return "", "", false
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
