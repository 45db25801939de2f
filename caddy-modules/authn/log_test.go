package authn_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docstrange/mesh/auth/keys"
	_ "github.com/docstrange/mesh/caddy-modules/all"
	"github.com/docstrange/mesh/internal/caddyharness"
)

// issueKey writes a pepper and one API key into an embedded data folder,
// as the edge would find them after an admin issued the key.
func issueKey(t *testing.T, dataDir string) string {
	t.Helper()
	pepper := []byte("0123456789abcdef0123456789abcdef")
	if err := os.MkdirAll(filepath.Join(dataDir, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, "secrets", "key-pepper"), pepper, 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := keys.OpenFile(filepath.Join(dataDir, "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ring, err := keys.NewKeyring(store, keys.Config{Pepper: pepper})
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := ring.Issue(context.Background(), "acme", "api_key", "log test")
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// edgeLog is the global log block of the edge's Caddyfile, writing to file
// at debug level.
func edgeLog(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "edge", "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "\n\tlog {")
	if start < 0 {
		t.Fatal("edge/Caddyfile has no global log block")
	}
	depth, end := 0, -1
	for i := start; i < len(s) && end < 0; i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				end = i + 1
			}
		}
	}
	block := s[start:end]
	if !strings.Contains(block, "output stderr") {
		t.Fatalf("the edge's log block does not write to stderr:\n%s", block)
	}
	return strings.Replace(block, "output stderr", fmt.Sprintf("output file %q\n\t\tlevel DEBUG", file), 1)
}

// TestAPIKeyStaysOutOfCaddyLogs: Caddy's error log prints a failed
// request's headers, redacting Authorization but not X-API-Key; the edge's
// log configuration must keep the key out.
func TestAPIKeyStaysOutOfCaddyLogs(t *testing.T) {
	dataDir, logFile := t.TempDir(), filepath.Join(t.TempDir(), "caddy.log")
	secret := issueKey(t, dataDir)
	tester, base := caddyharness.Start(t, edgeLog(t, logFile)+fmt.Sprintf(`
		docstrange {
			data_dir %q
			workers -1
		}`, dataDir), `
		route {
			docstrange_errors
			request_id
			docstrange_authn
			error "handler failed after authentication" 500
		}`)

	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/jobs", nil)
	req.Header.Set("X-API-Key", secret)
	req.Header.Set("User-Agent", "log-test-agent")
	resp, err := tester.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500 from the failing handler (was the key refused?)", resp.StatusCode)
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	// The failure was logged with the request's headers...
	if !strings.Contains(log, "handler failed after authentication") || !strings.Contains(log, "log-test-agent") || !strings.Contains(log, "X-Api-Key") {
		t.Fatalf("the error log has no entry with the request's headers:\n%s", log)
	}
	// ...but not the key, nor its secret part.
	_, secretPart, _ := strings.Cut(strings.TrimPrefix(secret, "dsk_"), "_")
	if strings.Contains(log, secret) || (secretPart != "" && strings.Contains(log, secretPart)) {
		t.Errorf("the API key reached Caddy's log:\n%s", log)
	}
}
