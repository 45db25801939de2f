package docstrange

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// twoTables is an app with two handler modules' routes, as the docs, tus
// and jobs modules register theirs, each recording what it served.
func twoTables(t *testing.T) (*App, *Routes, *Routes, *[]string) {
	t.Helper()
	var served []string
	a, b := NewRoutes(), NewRoutes()
	a.Handle(http.MethodGet, "/a/{id}", func(w http.ResponseWriter, r *http.Request) {
		served = append(served, "a:"+r.PathValue("id"))
	})
	b.Handle(http.MethodPost, "/b", func(w http.ResponseWriter, r *http.Request) {
		served = append(served, "b")
	})
	app := &App{}
	for _, rt := range []*Routes{a, b} {
		if err := app.RegisterRoutes(rt); err != nil {
			t.Fatal(err)
		}
	}
	return app, a, b, &served
}

// caddyRequest is a request with Caddy's per-request vars, as the server
// prepares every request before its handlers.
func caddyRequest(method, target string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	return r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{}))
}

// serveBoth runs r through both tables in handler order and reports
// whether it fell through to the next handler.
func serveBoth(t *testing.T, a, b *Routes, r *http.Request) (*httptest.ResponseRecorder, bool) {
	t.Helper()
	w := httptest.NewRecorder()
	fellThrough := false
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		fellThrough = true
		return nil
	})
	err := a.ServeHTTP(w, r, caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return b.ServeHTTP(w, r, next)
	}))
	if err != nil {
		t.Fatal(err)
	}
	return w, fellThrough
}

func TestMatchRouteAndServe(t *testing.T) {
	for _, withVars := range []bool{true, false} {
		app, a, b, served := twoTables(t)
		req := func(method, target string) *http.Request {
			if withVars {
				return caddyRequest(method, target)
			}
			return httptest.NewRequest(method, target, nil)
		}

		r := req(http.MethodGet, "/a/7")
		if m, route, ok := app.MatchRoute(r); !ok || m != http.MethodGet || route != "/a/{id}" {
			t.Fatalf("vars %v: GET /a/7 matched %q %q %v", withVars, m, route, ok)
		}
		if _, fell := serveBoth(t, a, b, r); fell || len(*served) != 1 || (*served)[0] != "a:7" {
			t.Fatalf("vars %v: GET /a/7 served %v, fell through %v", withVars, *served, fell)
		}
		if withVars && caddyhttp.GetVar(r.Context(), VarRoute) != "GET /a/{id}" {
			t.Fatalf("VarRoute = %v", caddyhttp.GetVar(r.Context(), VarRoute))
		}

		// The second table serves its own route; the first passes it on.
		r = req(http.MethodPost, "/b")
		if _, fell := serveBoth(t, a, b, r); fell || len(*served) != 2 || (*served)[1] != "b" {
			t.Fatalf("vars %v: POST /b served %v, fell through %v", withVars, *served, fell)
		}

		// A known path with another method: its table answers 405.
		r = req(http.MethodPut, "/b")
		if m, route, ok := app.MatchRoute(r); !ok || m != "" || route != "/b" {
			t.Fatalf("vars %v: PUT /b matched %q %q %v", withVars, m, route, ok)
		}
		w, fell := serveBoth(t, a, b, r)
		if fell || w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != http.MethodPost {
			t.Fatalf("vars %v: PUT /b: %d Allow %q, fell through %v", withVars, w.Code, w.Header().Get("Allow"), fell)
		}

		// No route: both tables hand it on.
		r = req(http.MethodGet, "/nowhere")
		if _, _, ok := app.MatchRoute(r); ok {
			t.Fatalf("vars %v: /nowhere matched", withVars)
		}
		if _, fell := serveBoth(t, a, b, r); !fell || len(*served) != 2 {
			t.Fatalf("vars %v: /nowhere served %v, fell through %v", withVars, *served, fell)
		}
	}
}

// TestRouteMatchedOncePerRequest: the handlers share one match per
// request, and a request rewritten in between is matched again.
func TestRouteMatchedOncePerRequest(t *testing.T) {
	app, a, b, served := twoTables(t)
	r := caddyRequest(http.MethodGet, "/a/1")
	first := app.match(r)
	if first.pattern != "GET /a/{id}" {
		t.Fatalf("match = %+v", first)
	}
	if again := app.match(r); again != first {
		t.Fatal("a second handler matched the request again")
	}

	// A rewrite (path and method) after the first match.
	r.Method, r.URL.Path = http.MethodPost, "/b"
	if m := app.match(r); m == first || m.pattern != "POST /b" {
		t.Fatalf("after a rewrite: match = %+v", m)
	}
	if _, fell := serveBoth(t, a, b, r); fell || len(*served) != 1 || (*served)[0] != "b" {
		t.Fatalf("rewritten request served %v, fell through %v", *served, fell)
	}

	// Another app's match (a reload's) is not reused.
	other, _, _, _ := twoTables(t)
	r = caddyRequest(http.MethodGet, "/a/2")
	m := app.match(r)
	if om := other.match(r); om == m || om.app != other {
		t.Fatal("a match made for one app was reused by another")
	}
}

// TestRoutesCopiedPerServer: Caddy provisions a handler module once per
// server (the HTTP and the HTTPS listener), so the app holds two copies of
// each table; a request through either copy's server is served by that
// copy, whichever copy the shared match found first.
func TestRoutesCopiedPerServer(t *testing.T) {
	var served []string
	build := func(name string) *Routes {
		rt := NewRoutes()
		rt.Handle(http.MethodGet, "/api/v1/health/ready", func(http.ResponseWriter, *http.Request) {
			served = append(served, name)
		})
		return rt
	}
	first, second := build("first"), build("second")
	app := &App{}
	for _, rt := range []*Routes{first, second} {
		if err := app.RegisterRoutes(rt); err != nil {
			t.Fatalf("a second copy of a table: %v", err)
		}
	}

	for _, tc := range []struct {
		rt     *Routes
		method string
		want   int
	}{
		{first, http.MethodGet, http.StatusOK},
		{second, http.MethodGet, http.StatusOK},
		{second, http.MethodPost, http.StatusMethodNotAllowed},
	} {
		served = nil
		r := caddyRequest(tc.method, "/api/v1/health/ready")
		w := httptest.NewRecorder()
		fell := false
		err := tc.rt.ServeHTTP(w, r, caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
			fell = true
			return nil
		}))
		if err != nil || fell || w.Code != tc.want {
			t.Fatalf("%s through one copy: %d, fell through %v, err %v", tc.method, w.Code, fell, err)
		}
		if tc.want == http.StatusOK && (len(served) != 1 || (tc.rt == second) != (served[0] == "second")) {
			t.Fatalf("served by %v", served)
		}
	}
}

// TestRegisterRoutesConflict: two modules claiming the same requests is a
// provisioning error, not a panic and not one of them silently unreachable.
func TestRegisterRoutesConflict(t *testing.T) {
	a, b := NewRoutes(), NewRoutes()
	a.Handle(http.MethodGet, "/x/{id}", func(http.ResponseWriter, *http.Request) {})
	b.Handle(http.MethodGet, "/x/{name}", func(http.ResponseWriter, *http.Request) {})
	app := &App{}
	if err := app.RegisterRoutes(a); err != nil {
		t.Fatal(err)
	}
	err := app.RegisterRoutes(b)
	if err == nil || !strings.Contains(err.Error(), "/x/{name}") {
		t.Fatalf("conflicting tables registered: %v", err)
	}
	// The first table still serves.
	if _, route, ok := app.MatchRoute(caddyRequest(http.MethodGet, "/x/1")); !ok || route != "/x/{id}" {
		t.Fatalf("after the conflict: %q %v", route, ok)
	}
}
