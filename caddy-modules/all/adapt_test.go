package all

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestAdaptEdgeCaddyfile adapts the Caddyfile `make run` uses and compares
// the JSON with a golden file, so a directive that stops parsing, changes
// order or loses an option shows up as a diff. Environment placeholders
// resolve to their defaults.
func TestAdaptEdgeCaddyfile(t *testing.T) {
	for _, env := range []string{"DOCSTRANGE_DATA_DIR", "DOCSTRANGE_HTTP_HOST", "DOCSTRANGE_HTTP_PORT", "DOCSTRANGE_STORE",
		"DOCSTRANGE_REDIS_ADDR", "DOCSTRANGE_REDIS_PREFIX", "DOCSTRANGE_MAX_UPLOAD", "DOCSTRANGE_MAX_PAGES",
		"DOCSTRANGE_RESULT_TTL", "DOCSTRANGE_WORKERS", "DOCSTRANGE_CLEANUP_INTERVAL"} {
		t.Setenv(env, "")
		os.Unsetenv(env)
	}
	src, err := os.ReadFile(filepath.Join("..", "..", "edge", "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	adapter := caddyconfig.GetAdapter("caddyfile")
	out, warnings, err := adapter.Adapt(src, map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatalf("adapting: %v", err)
	}
	for _, w := range warnings {
		t.Errorf("warning: %s", w.String())
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, out, "", "\t"); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	golden := filepath.Join("testdata", "Caddyfile.json")
	if *update {
		if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Fatalf("adapted config differs from %s; run go test -update and review the diff:\n%s", golden, pretty.String())
	}
}

func TestAdaptRejectsUnknownOptions(t *testing.T) {
	tests := []struct{ name, caddyfile string }{
		{name: "unknown app option", caddyfile: "{\n\tdocstrange {\n\t\tcolour red\n\t}\n}\n:8080\n"},
		{name: "unknown redis option", caddyfile: "{\n\tdocstrange {\n\t\tredis {\n\t\t\tcolour red\n\t\t}\n\t}\n}\n:8080\n"},
		{name: "bad duration", caddyfile: "{\n\tdocstrange {\n\t\tresult_ttl soon\n\t}\n}\n:8080\n"},
		{name: "jobs option", caddyfile: ":8080 {\n\tdocstrange_jobs {\n\t\tcolour red\n\t}\n}\n"},
		{name: "request_id argument", caddyfile: ":8080 {\n\trequest_id extra\n}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(tt.caddyfile), nil); err == nil {
				t.Fatal("adapted without error")
			}
		})
	}
}
