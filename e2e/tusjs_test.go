package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tusJSVersion is the stock tus-js-client the e2e run drives.
const tusJSVersion = "4.3.1"

// tusJS installs tus-js-client from npm once into .cache/node in the
// checkout and returns the folder to run node in.
func tusJS(t *testing.T) string {
	t.Helper()
	for _, bin := range []string{"node", "npm"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is required for the tus-js-client e2e run (make test installs it): %v", bin, err)
		}
	}
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", ".cache", "node", "tus-js-client-"+tusJSVersion)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "tus-js-client", "package.json")); err != nil {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("npm", "install", "--prefix", dir, "--no-audit", "--no-fund", "--no-save", "tus-js-client@"+tusJSVersion)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm install tus-js-client: %v\n%s", err, out)
		}
	}
	script := filepath.Join(filepath.Dir(file), "testdata", "tus-upload.js")
	if err := copyFile(script, filepath.Join(dir, "tus-upload.js")); err != nil {
		t.Fatal(err)
	}
	return dir
}

type tusJSResult struct {
	URL       string `json:"url"`
	Job       string `json:"job"`
	AbortedAt int    `json:"abortedAt"`
}

func runTusJS(t *testing.T, dir string, args ...string) tusJSResult {
	t.Helper()
	cmd := exec.Command("node", append([]string{"tus-upload.js"}, args...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tus-js-client: %v\n%s", err, stderr.String())
	}
	var res tusJSResult
	if err := json.Unmarshal(bytes.TrimSpace(out), &res); err != nil {
		t.Fatalf("tus-js-client output %q: %v", out, err)
	}
	return res
}

// TestTusJSClient runs the stock tus-js-client from npm in Node: a multi-MB
// file in chunks, aborted midway and resumed from its URL, arrives byte for
// byte; then a PDF uploaded with process=true becomes a job whose Markdown
// holds the PDF's text.
func TestTusJSClient(t *testing.T) {
	dir := tusJS(t)
	s := startStack(t)
	endpoint := s.base + "/api/v1/uploads/"

	data := make([]byte, 5<<20+12345)
	rand.Read(data)
	file := filepath.Join(t.TempDir(), "scan.bin")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	res := runTusJS(t, dir, endpoint, s.key, file, strconv.Itoa(512<<10), `{"filename":"scan.bin"}`, "abort")
	if res.AbortedAt <= 0 || res.AbortedAt >= len(data) {
		t.Fatalf("the client was not aborted midway: %+v", res)
	}
	stored := readFile(t, filepath.Join(s.dataDir, "uploads", path.Base(res.URL)))
	if !bytes.Equal(stored, data) {
		t.Fatalf("stored %d bytes differ from the %d sent", len(stored), len(data))
	}

	pdf := filepath.Join(t.TempDir(), "hello.pdf")
	if err := copyFile(helloPDF, pdf); err != nil {
		t.Fatal(err)
	}
	res = runTusJS(t, dir, endpoint, s.key, pdf, strconv.Itoa(1<<10), `{"filename":"hello.pdf","process":"true"}`)
	if !strings.HasPrefix(res.Job, "job_") {
		t.Fatalf("the completing PATCH named no job: %+v", res)
	}
	if j := s.waitFor(res.Job, 60*time.Second); j.Status != "succeeded" {
		t.Fatalf("job: %+v", j)
	}
	md := s.get("/api/v1/jobs/" + res.Job + "/result?format=markdown")
	if !strings.Contains(string(md.body), "Hello Mesh") {
		t.Fatalf("markdown: %s", md.body)
	}
}
