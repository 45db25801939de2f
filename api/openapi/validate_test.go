package openapi_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The npm validators, pinned: redocly's recommended rules catch what a
// schema cannot (undeclared path parameters, duplicate operation ids,
// broken references); seriousme checks the document against the
// specification's own JSON Schema.
const (
	redoclyCLI       = "@redocly/cli"
	redoclyVersion   = "2.77.0"
	schemaValidator  = "@seriousme/openapi-schema-validator"
	validatorVersion = "2.11.0"
)

// npmTool installs pkg@version from npm once into .cache/node in the
// checkout and returns its node_modules/.bin folder.
func npmTool(t *testing.T, pkg, version string) string {
	t.Helper()
	for _, bin := range []string{"node", "npm"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is required to validate the OpenAPI document (make test installs it): %v", bin, err)
		}
	}
	_, file, _, _ := runtime.Caller(0)
	name := strings.ReplaceAll(strings.TrimPrefix(pkg, "@"), "/", "-") + "-" + version
	dir := filepath.Join(filepath.Dir(file), "..", "..", ".cache", "node", name)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("npm", "install", "--prefix", dir, "--no-audit", "--no-fund", "--no-save", pkg+"@"+version)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm install %s@%s: %v\n%s", pkg, version, err, out)
		}
	}
	return filepath.Join(dir, "node_modules", ".bin")
}

// TestRedoclyLint lints the document with Redocly CLI's recommended rules,
// all as errors (redocly.yaml says which are off, and why); a warning
// fails the test too.
func TestRedoclyLint(t *testing.T) {
	bin := npmTool(t, redoclyCLI, redoclyVersion)
	cmd := exec.Command(filepath.Join(bin, "redocly"), "lint", "--config", "redocly.yaml", "--format", "json", "openapi.json")
	// No usage reports and no update checks: the tests talk to nothing.
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var report struct {
		Totals struct {
			Errors   int `json:"errors"`
			Warnings int `json:"warnings"`
		} `json:"totals"`
		Problems []struct {
			RuleID   string `json:"ruleId"`
			Severity string `json:"severity"`
			Message  string `json:"message"`
			Location []struct {
				Pointer string `json:"pointer"`
			} `json:"location"`
		} `json:"problems"`
	}
	if jerr := json.Unmarshal(out, &report); jerr != nil {
		t.Fatalf("redocly lint: %v (%v)\nstdout: %s\nstderr: %s", err, jerr, out, stderr.String())
	}
	for _, p := range report.Problems {
		where := ""
		if len(p.Location) > 0 {
			where = p.Location[0].Pointer
		}
		t.Errorf("%s %s at %s: %s", p.Severity, p.RuleID, where, p.Message)
	}
	if err != nil && !t.Failed() {
		t.Fatalf("redocly lint: %v\n%s", err, stderr.String())
	}
}

// TestSchemaValid validates the document against the OpenAPI 3.1 JSON
// Schema.
func TestSchemaValid(t *testing.T) {
	bin := npmTool(t, schemaValidator, validatorVersion)
	out, err := exec.Command(filepath.Join(bin, "validate-api"), "openapi.json").CombinedOutput()
	var res struct {
		Valid  bool            `json:"valid"`
		Errors json.RawMessage `json:"errors"`
	}
	if jerr := json.Unmarshal(out, &res); jerr != nil || err != nil || !res.Valid {
		t.Fatalf("validate-api: %v\n%s", err, out)
	}
}
