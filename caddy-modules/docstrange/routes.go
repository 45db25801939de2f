package docstrange

import (
	"net/http"
	"sort"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/docstrange/mesh/api"
)

// Routes is the pattern mux of a handler module (the job API, the admin
// API): the standard library's ServeMux, plus what a Caddy middleware needs
// around it. A request no route claims goes on to the next Caddy handler; a
// known path with a wrong method gets 405 with Allow in the API's error
// shape; a matched request's pattern is recorded in VarRoute for metrics.
type Routes struct {
	mux     *http.ServeMux
	allowed map[string][]string
	// app is the app the routes are registered with, whose per-request
	// match they share; nil until App.RegisterRoutes.
	app *App
}

// NewRoutes returns an empty Routes.
func NewRoutes() *Routes {
	return &Routes{mux: http.NewServeMux(), allowed: map[string][]string{}}
}

// Handle serves method on path, a ServeMux path pattern.
func (rt *Routes) Handle(method, path string, fn http.HandlerFunc) {
	rt.mux.HandleFunc(method+" "+path, fn)
	if rt.allowed[path] == nil {
		// The method-less pattern ranks below the method ones, so it only
		// sees the methods no route takes.
		rt.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			allow := strings.Join(rt.allowed[path], ", ")
			w.Header().Set("Allow", allow)
			api.WriteError(w, api.Errorf(http.StatusMethodNotAllowed, api.CodeMethodNotAllowed, "%s is not allowed here; allowed: %s", r.Method, allow))
		})
	}
	rt.allowed[path] = append(rt.allowed[path], method)
}

// Patterns lists the "METHOD /path" patterns served, for documentation
// checks.
func (rt *Routes) Patterns() []string {
	var out []string
	for path, methods := range rt.allowed {
		for _, m := range methods {
			out = append(out, m+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

// ServeHTTP routes r, or hands it to next when no pattern matches.
func (rt *Routes) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	// The lookup only finds the pattern; ServeHTTP matches again because
	// only it fills the request's path values.
	var pattern string
	if rt.app != nil {
		// The request is this table's when the matched pattern's path is
		// one of its own. By path, not by table: Caddy provisions a module
		// once per server (the HTTP and the HTTPS listener each have their
		// own copy of the route list), so the app holds copies of each
		// table.
		if m := rt.app.match(r); m.pattern != "" && rt.allowed[patternPath(m.pattern)] != nil {
			pattern = m.pattern
		}
	} else {
		_, pattern = rt.mux.Handler(r)
	}
	if pattern == "" {
		return next.ServeHTTP(w, r)
	}
	caddyhttp.SetVar(r.Context(), VarRoute, pattern)
	rt.mux.ServeHTTP(w, r)
	return nil
}

// patternPath is the path of a "METHOD /path" or "/path" pattern.
func patternPath(pattern string) string {
	if _, path, ok := strings.Cut(pattern, " "); ok {
		return path
	}
	return pattern
}

// allPatterns lists every pattern registered on the mux: each path with
// each of its methods, and alone.
func (rt *Routes) allPatterns() []string {
	out := rt.Patterns()
	for path := range rt.allowed {
		out = append(out, path)
	}
	return out
}
