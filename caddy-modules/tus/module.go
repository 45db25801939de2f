// Package tus is the docstrange_tus handler: resumable uploads (tus 1.0.0)
// at /api/v1/uploads/, through tusd v2's UnroutedHandler, behind the
// authn, authz and ratelimit handlers. On top of tusd it adds what a
// multi-tenant API needs: every upload belongs to the tenant that created
// it (anyone else gets 404), the tier's size limit, bounded and sanitised
// metadata, expiry of unfinished uploads (the expiration extension, which
// tusd lacks) with a loop that deletes them, and errors in the API's shape.
package tus

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	tusd "github.com/tus/tusd/v2/pkg/handler"
	xslog "golang.org/x/exp/slog"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/caddy-modules/docstrange"
	"github.com/docstrange/mesh/uploads"
)

func init() {
	caddy.RegisterModule(new(Handler))
}

// BasePath is where uploads live.
const BasePath = "/api/v1/uploads/"

// Defaults of Handler.
const (
	DefaultMaxSize     = 1 << 30
	DefaultMaxMetadata = 4 << 10
)

// Handler is http.handlers.docstrange_tus.
type Handler struct {
	// MaxSize is the largest upload any tier may make; each tier's own
	// limit (policy max_file_size) applies below it. Default: 1 GiB.
	MaxSize int64 `json:"max_size,omitempty"`
	// MaxMetadata bounds the Upload-Metadata header in bytes. Default: 4 KiB.
	MaxMetadata int `json:"max_metadata,omitempty"`

	app    *docstrange.App
	log    *slog.Logger
	store  *uploads.Store
	tusd   *tusd.UnroutedHandler
	routes *docstrange.Routes
	chain  map[string]http.Handler
}

// CaddyModule implements caddy.Module.
func (*Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.docstrange_tus", New: func() caddy.Module { return new(Handler) }}
}

// Provision implements caddy.Provisioner.
func (h *Handler) Provision(ctx caddy.Context) error {
	app, err := ctx.App("docstrange")
	if err != nil {
		return err
	}
	h.app = app.(*docstrange.App)
	h.log = docstrange.RequestLogger(ctx.Slogger())
	if h.MaxSize == 0 {
		h.MaxSize = DefaultMaxSize
	}
	if h.MaxMetadata == 0 {
		h.MaxMetadata = DefaultMaxMetadata
	}
	h.store = h.app.UploadStore()
	h.tusd, err = tusd.NewUnroutedHandler(tusd.Config{
		StoreComposer:             h.store.Composer(),
		BasePath:                  BasePath,
		MaxSize:                   h.MaxSize,
		DisableDownload:           true,
		Cors:                      &tusd.CorsConfig{Disable: true}, // docstrange_cors runs first
		PreUploadCreateCallback:   h.preCreate,
		PreFinishResponseCallback: h.preFinish,
		// tusd logs through x/exp/slog; its warnings and errors go to
		// stderr beside Caddy's log, its per-request lines are dropped.
		Logger: xslog.New(xslog.NewJSONHandler(os.Stderr, &xslog.HandlerOptions{Level: xslog.LevelWarn})),
	})
	if err != nil {
		return fmt.Errorf("configuring tusd: %w", err)
	}
	mw := h.tusd.Middleware
	h.chain = map[string]http.Handler{
		http.MethodPost:    mw(http.HandlerFunc(h.tusd.PostFile)),
		http.MethodHead:    mw(http.HandlerFunc(h.tusd.HeadFile)),
		http.MethodPatch:   mw(http.HandlerFunc(h.tusd.PatchFile)),
		http.MethodDelete:  mw(http.HandlerFunc(h.tusd.DelFile)),
		http.MethodOptions: mw(http.NotFoundHandler()), // tusd answers OPTIONS itself
	}
	h.routes = docstrange.NewRoutes()
	for _, p := range []string{"/api/v1/uploads", "/api/v1/uploads/{$}"} {
		h.routes.Handle(http.MethodPost, p, h.create)
		h.routes.Handle(http.MethodOptions, p, h.discover)
	}
	h.routes.Handle(http.MethodHead, "/api/v1/uploads/{id}", h.owned)
	h.routes.Handle(http.MethodPatch, "/api/v1/uploads/{id}", h.owned)
	h.routes.Handle(http.MethodDelete, "/api/v1/uploads/{id}", h.owned)
	return h.app.RegisterRoutes(h.routes)
}

// Validate implements caddy.Validator.
func (h *Handler) Validate() error {
	switch {
	case h.MaxSize < 0:
		return fmt.Errorf("max_size %d: must be positive", h.MaxSize)
	case h.MaxMetadata < 256:
		return fmt.Errorf("max_metadata %d: must be at least 256", h.MaxMetadata)
	}
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if !strings.HasPrefix(r.URL.Path, "/api/v1/uploads") {
		return next.ServeHTTP(w, r)
	}
	ew := &envelopeWriter{ResponseWriter: w, r: r}
	err := h.routes.ServeHTTP(ew, r, next)
	ew.finish()
	return err
}

// discover answers tus' OPTIONS: versions, extensions and the caller's
// largest upload.
func (h *Handler) discover(w http.ResponseWriter, r *http.Request) {
	h.chain[http.MethodOptions].ServeHTTP(w, stripBase(r, ""))
}

// create is POST: the metadata header is bounded before tusd parses it;
// the tier's size and the owner are set in preCreate.
func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	if len(r.Header.Get("Upload-Metadata")) > h.MaxMetadata {
		api.WriteError(w, api.Errorf(http.StatusBadRequest, api.CodeInvalidRequest,
			"the Upload-Metadata header is longer than %d bytes", h.MaxMetadata).With("field", "Upload-Metadata"))
		return
	}
	if apiErr := h.ownsPartials(r); apiErr != nil {
		api.WriteError(w, apiErr)
		return
	}
	// creation-with-upload: the first chunk's checksum is checked as a
	// PATCH's would be.
	if r.ContentLength != 0 && r.Header.Get("Upload-Checksum") != "" {
		verified, cleanup, apiErr := h.verifyChecksum(r)
		if apiErr != nil {
			api.WriteError(w, apiErr)
			return
		}
		defer cleanup()
		r = verified
	}
	w.Header().Set("Upload-Expires", time.Now().Add(h.store.TTL()).UTC().Format(http.TimeFormat))
	h.chain[http.MethodPost].ServeHTTP(w, stripBase(r, ""))
}

// Interface guards.
var (
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
)
