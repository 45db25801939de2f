package docs

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"strings"

	"github.com/docstrange/mesh/api/openapi"
)

// content is the vendored viewer (assets/, see assets/README.md) and the
// page around it (page/).
//
//go:embed assets/swagger-ui-bundle.js assets/swagger-ui.css page
var content embed.FS

// Content types of the files served.
const (
	typeJSON = "application/json"
	typeHTML = "text/html; charset=utf-8"
	typeJS   = "text/javascript; charset=utf-8"
	typeCSS  = "text/css; charset=utf-8"
)

// cacheControl lets browsers and proxies keep every file but revalidate it
// on each use: the ETag makes that a 304, and a new edge version is seen
// at once.
const cacheControl = "public, no-cache"

// file is one embedded file, ready to serve as is or gzip-encoded.
type file struct {
	contentType string
	// csp, when set, replaces the Content-Security-Policy header.
	csp      string
	plain    []byte
	gzipped  []byte
	etag     string
	gzipETag string
}

// loadFiles reads every served file, by URL path.
func loadFiles() (map[string]*file, error) {
	type source struct {
		fsys        fs.FS
		name        string
		contentType string
		csp         string
	}
	sources := map[string]source{
		DocumentPath:                       {openapi.FS, openapi.File, typeJSON, ""},
		PagePath:                           {content, "page/index.html", typeHTML, PageCSP},
		PagePath + "/docs.js":              {content, "page/docs.js", typeJS, ""},
		PagePath + "/docs.css":             {content, "page/docs.css", typeCSS, ""},
		PagePath + "/swagger-ui-bundle.js": {content, "assets/swagger-ui-bundle.js", typeJS, ""},
		PagePath + "/swagger-ui.css":       {content, "assets/swagger-ui.css", typeCSS, ""},
	}
	files := make(map[string]*file, len(sources))
	for path, src := range sources {
		b, err := fs.ReadFile(src.fsys, src.name)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", src.name, err)
		}
		f, err := newFile(b, src.contentType, src.csp)
		if err != nil {
			return nil, fmt.Errorf("compressing %s: %w", src.name, err)
		}
		files[path] = f
	}
	return files, nil
}

func newFile(b []byte, contentType, csp string) (*file, error) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	tag := hex.EncodeToString(sum[:16])
	return &file{
		contentType: contentType,
		csp:         csp,
		plain:       b,
		gzipped:     gz.Bytes(),
		etag:        `"` + tag + `"`,
		// Each encoding is its own representation, with its own tag.
		gzipETag: `"` + tag + `-gzip"`,
	}, nil
}

// ServeHTTP writes the file, gzip-encoded when the client takes it, or 304
// when the client's copy is current.
func (f *file) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	body, etag, encoding := f.plain, f.etag, ""
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body, etag, encoding = f.gzipped, f.gzipETag, "gzip"
	}
	h.Set("Cache-Control", cacheControl)
	h.Add("Vary", "Accept-Encoding")
	h.Set("ETag", etag)
	if f.csp != "" {
		h.Set("Content-Security-Policy", f.csp)
	}
	if matchesETag(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if encoding != "" {
		h.Set("Content-Encoding", encoding)
	}
	h.Set("Content-Type", f.contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// acceptsGzip reads an Accept-Encoding header: gzip is acceptable when it
// is listed with a non-zero q, or, unlisted, when * is.
func acceptsGzip(header string) bool {
	gz, star := -1.0, -1.0
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "q="); ok {
				if n, err := strconv.ParseFloat(v, 64); err == nil {
					q = n
				}
			}
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "gzip":
			gz = q
		case "*":
			star = q
		}
	}
	if gz >= 0 {
		return gz > 0
	}
	return star > 0
}

// matchesETag is If-None-Match's weak comparison (RFC 9110 §13.1.2).
func matchesETag(header, etag string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
	}
	return false
}
