package docs_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/api/openapi"
	_ "github.com/docstrange/mesh/caddy-modules/all"
	"github.com/docstrange/mesh/caddy-modules/docstrange"
	"github.com/docstrange/mesh/internal/proctest"
)

// wildcard matches a ServeMux wildcard, "{id}" or "{rest...}", or "{$}".
var wildcard = regexp.MustCompile(`\{([A-Za-z_$]*)(\.\.\.)?\}`)

// documentPath turns a ServeMux pattern's path into the document's
// template: "{$}" (the path ends here) goes, "{rest...}" becomes "{rest}".
func documentPath(pattern string) string {
	return wildcard.ReplaceAllStringFunc(pattern, func(w string) string {
		if w == "{$}" {
			return ""
		}
		return "{" + wildcard.FindStringSubmatch(w)[1] + "}"
	})
}

// TestServedRoutesAreDocumented runs the edge's own Caddyfile in process
// and compares the routes its handler modules registered with the app
// (jobs, tus, docs and whatever is added later) with the document's
// operations, both ways. A documented operation outside the route table
// (the Caddyfile's static ping) must be answered by the running server
// rather than by "no route".
func TestServedRoutesAreDocumented(t *testing.T) {
	// Not t.TempDir: Caddy's certificate job for the HTTPS site may still
	// write into the data folder after Stop, which makes t.TempDir's strict
	// removal fail. Removal here is best effort, after Stop (cleanups run
	// last-registered first).
	dataDir, err := os.MkdirTemp("", "docs-routes-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		time.Sleep(200 * time.Millisecond)
		os.RemoveAll(dataDir)
	})
	ports := proctest.FreePorts(t, 3)
	httpPort := ports[0]
	for k, v := range map[string]string{
		"DOCSTRANGE_DATA_DIR": dataDir, "DOCSTRANGE_HTTP_HOST": "127.0.0.1", "DOCSTRANGE_HTTP_PORT": strconv.Itoa(httpPort),
		"DOCSTRANGE_HTTPS_PORT": strconv.Itoa(ports[1]), "DOCSTRANGE_ADMIN_PORT": strconv.Itoa(ports[2]),
		"DOCSTRANGE_WORKERS": "-1", "DOCSTRANGE_STORE": "embedded", "DOCSTRANGE_BACKENDS_DIR": "",
		"DOCSTRANGE_ANONYMOUS": "on", "DOCSTRANGE_TIERS_FILE": "", "DOCSTRANGE_UPLOAD_STORE": "file",
	} {
		t.Setenv(k, v)
	}
	src, err := os.ReadFile(filepath.Join("..", "..", "edge", "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt(src, map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatalf("adapting edge/Caddyfile: %v", err)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatalf("running edge/Caddyfile: %v", err)
	}
	t.Cleanup(func() {
		if err := caddy.Stop(); err != nil {
			t.Errorf("stopping caddy: %v", err)
		}
	})
	app, err := caddy.ActiveContext().App("docstrange")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	documented := doc.Patterns()
	// The HTTP and HTTPS listeners are two servers, each with its own
	// handlers registering the same routes.
	var served []string
	for _, p := range app.(*docstrange.App).RoutePatterns() {
		if p = documentPath(p); !slices.Contains(served, p) {
			served = append(served, p)
		}
	}
	if len(served) < 20 {
		t.Fatalf("only %d routes registered: %v", len(served), served)
	}
	for _, p := range served {
		if !slices.Contains(documented, p) {
			t.Errorf("%s is served but not documented", p)
		}
	}
	base := "http://127.0.0.1:" + strconv.Itoa(httpPort)
	for _, p := range documented {
		if slices.Contains(served, p) {
			continue
		}
		method, path, _ := strings.Cut(p, " ")
		req, _ := http.NewRequest(method, base+wildcard.ReplaceAllString(path, "x"), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		var env api.Envelope
		var body bytes.Buffer
		body.ReadFrom(resp.Body)
		resp.Body.Close()
		json.Unmarshal(body.Bytes(), &env)
		if resp.StatusCode == http.StatusMethodNotAllowed || env.Error != nil && env.Error.Code == api.CodeNotFound {
			t.Errorf("%s is documented but not served: %d %s", p, resp.StatusCode, body.Bytes())
		}
	}
}
