// Command testbackend is a deterministic backend for the host's tests. It
// runs no model: ocr.recognize answers each item's id, size and the
// backend's version as text, after the delay in Options.Extra["delay"]
// (a time.Duration string) per item. Build it with
//
//	go build -ldflags "-X main.version=v2 -X main.health=not_serving"
//
// TESTBACKEND_VERSION and TESTBACKEND_API_VERSIONS (comma-separated)
// override the version and the API versions at run time. While the file
// named by TESTBACKEND_UNHEALTHY_FILE exists, Health answers not serving.
package main

import (
	"log/slog"
	"os"
	"strings"

	"github.com/hashicorp/go-plugin"

	"github.com/docstrange/mesh/plugins"
)

// Set by -ldflags -X.
var (
	version = "v1"
	health  = "serving"
)

func main() {
	b := &backend{
		version:     version,
		health:      health,
		apiVersions: plugins.SupportedAPIVersions(),
		log:         plugins.NewPluginLogger(os.Stderr, slog.LevelDebug),
		sickFile:    os.Getenv("TESTBACKEND_UNHEALTHY_FILE"),
	}
	if v := os.Getenv("TESTBACKEND_VERSION"); v != "" {
		b.version = v
	}
	if v := os.Getenv("TESTBACKEND_API_VERSIONS"); v != "" {
		b.apiVersions = strings.Split(v, ",")
	}
	plugin.Serve(plugins.ServeConfig(b))
}
