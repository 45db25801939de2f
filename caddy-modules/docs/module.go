// Package docs is the docstrange_docs handler: the API's OpenAPI 3.1
// document at /api/v1/openapi.json, and a page at /docs that renders it
// with Swagger UI. Every byte is embedded in the binary: the page loads
// nothing from another origin, and its Content-Security-Policy says so.
package docs

import (
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/caddy-modules/docstrange"
)

func init() {
	caddy.RegisterModule(new(Handler))
}

// Paths served.
const (
	// DocumentPath is the OpenAPI document.
	DocumentPath = "/api/v1/openapi.json"
	// PagePath is the page that renders it; its files are under PagePath/.
	PagePath = "/docs"
)

// PageCSP is the docs page's Content-Security-Policy, replacing the API's
// default-src 'none': scripts, styles, images, fonts and fetches from this
// origin only, so a viewer that tried a CDN would be blocked. Swagger UI's
// icons are data: URLs in its style sheet.
const PageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler is http.handlers.docstrange_docs. It has no options. It belongs
// before authentication: the document and the page are public.
type Handler struct {
	files  map[string]*file
	routes *docstrange.Routes
}

// CaddyModule implements caddy.Module.
func (*Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.docstrange_docs", New: func() caddy.Module { return new(Handler) }}
}

// Provision implements caddy.Provisioner. The files are read and
// compressed once here, not per request.
func (h *Handler) Provision(ctx caddy.Context) error {
	app, err := ctx.App("docstrange")
	if err != nil {
		return err
	}
	h.files, err = loadFiles()
	if err != nil {
		return fmt.Errorf("loading the docs files: %w", err)
	}
	h.routes = h.buildRoutes()
	// The app's route table then knows these routes too: authz would
	// find them should the handler ever sit behind it, and the
	// documentation checks compare the table with the document.
	return app.(*docstrange.App).RegisterRoutes(h.routes)
}

func (h *Handler) buildRoutes() *docstrange.Routes {
	rt := docstrange.NewRoutes()
	rt.Handle(http.MethodGet, DocumentPath, h.files[DocumentPath].ServeHTTP)
	rt.Handle(http.MethodGet, PagePath, h.files[PagePath].ServeHTTP)
	rt.Handle(http.MethodGet, PagePath+"/{file}", h.asset)
	return rt
}

// ServeHTTP implements caddyhttp.MiddlewareHandler: requests for other
// paths pass on to the next handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return h.routes.ServeHTTP(w, r, next)
}

// asset serves one of the page's files.
func (h *Handler) asset(w http.ResponseWriter, r *http.Request) {
	f, ok := h.files[PagePath+"/"+r.PathValue("file")]
	if !ok {
		api.WriteError(w, api.Errorf(http.StatusNotFound, api.CodeNotFound, "no file %s", r.URL.Path))
		return
	}
	f.ServeHTTP(w, r)
}

// Interface guards.
var (
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddy.Provisioner           = (*Handler)(nil)
)
