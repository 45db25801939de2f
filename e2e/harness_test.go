// Package e2e builds the real edge binary, starts it the way `make run`
// does (same Caddyfile, environment overrides only) and drives its API over
// HTTP.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/internal/proctest"
)

var (
	edgeBin string
	// backendsDir holds the ONNX OCR backend as the host expects it.
	backendsDir string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "docstrange-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	edgeBin = os.Getenv("DOCSTRANGE_EDGE_BIN")
	if edgeBin == "" {
		edgeBin = filepath.Join(dir, "docstrange-edge")
		if err := goBuild(edgeBin, "../edge/cmd/docstrange-edge"); err != nil {
			return 1
		}
	}
	backendsDir = filepath.Join(dir, "backends")
	onnx := filepath.Join(backendsDir, "onnx")
	if bin := os.Getenv("DOCSTRANGE_ONNX_BIN"); bin != "" {
		err = copyFile(bin, onnx)
	} else {
		err = goBuild(onnx, "../backends/onnx/cmd/docstrange-onnx")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "preparing the OCR backend:", err)
		return 1
	}
	return m.Run()
}

func goBuild(out, pkg string) error { return goBuildFlags(out, pkg) }

func goBuildFlags(out, pkg string, flags ...string) error {
	args := append(append([]string{"build"}, flags...), "-o", out, pkg)
	cmd := exec.Command("go", args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building %s: %v\n", pkg, err)
		return err
	}
	return nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}

// adminToken is the admin bearer token of every test stack.
const adminToken = "e2e-admin-token"

// stack is one running edge.
type stack struct {
	t       *testing.T
	dataDir string
	env     []string
	base    string
	admin   string
	https   string
	cmd     *exec.Cmd
	logs    *proctest.Log
	// key is an enterprise API key do sends unless the request carries its
	// own credentials or is marked anonymous: tests of the job API should
	// not trip the free tier's limits.
	key string
}

// anonymousKey marks a request's context: do sends it without the stack's
// key.
type anonymousKey struct{}

// anonymous returns req marked to go without the stack's key.
func anonymous(req *http.Request) *http.Request {
	return req.WithContext(context.WithValue(req.Context(), anonymousKey{}, true))
}

// startStack runs the edge on a free port with a fresh data folder; extra
// environment entries override the Caddyfile's defaults.
func startStack(t *testing.T, extraEnv ...string) *stack {
	t.Helper()
	s := &stack{t: t, dataDir: t.TempDir()}
	ports := proctest.FreePorts(t, 3)
	port, adminPort, httpsPort := ports[0], ports[1], ports[2]
	s.base = "http://127.0.0.1:" + strconv.Itoa(port)
	s.admin = "http://127.0.0.1:" + strconv.Itoa(adminPort)
	s.https = "https://127.0.0.1:" + strconv.Itoa(httpsPort)
	s.env = append(os.Environ(),
		"DOCSTRANGE_DATA_DIR="+s.dataDir,
		"DOCSTRANGE_HTTP_PORT="+strconv.Itoa(port),
		"DOCSTRANGE_HTTP_HOST=127.0.0.1",
		"DOCSTRANGE_ADMIN_PORT="+strconv.Itoa(adminPort),
		"DOCSTRANGE_HTTPS_PORT="+strconv.Itoa(httpsPort),
		"DOCSTRANGE_ADMIN_TOKEN="+adminToken,
		// Most tests submit the same document again and again and expect
		// it to run; TestDedupe turns dedupe back on.
		"DOCSTRANGE_DEDUPE=off",
	)
	if dir := os.Getenv("DOCSTRANGE_E2E_COVERDIR"); dir != "" {
		// The edge was built with -cover: its counters join the run's.
		s.env = append(s.env, "GOCOVERDIR="+dir)
	}
	s.env = append(s.env, extraEnv...)
	s.start()
	s.key = s.issueKey("e2e", "enterprise").Key
	t.Cleanup(func() {
		s.stop()
		// An edge built with -race reports races on stderr and keeps going.
		if strings.Contains(s.logs.String(), "WARNING: DATA RACE") {
			t.Errorf("the edge reported a data race")
		}
		if t.Failed() {
			t.Logf("edge logs:\n%s", tail(s.logs.String(), 8000))
		}
	})
	return s
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func (s *stack) start() {
	s.t.Helper()
	_, file, _, _ := runtime.Caller(0)
	caddyfile := filepath.Join(filepath.Dir(file), "..", "edge", "Caddyfile")
	s.cmd = exec.Command(edgeBin, "run", "--config", caddyfile, "--adapter", "caddyfile")
	s.cmd.Env = s.env
	if s.logs == nil {
		s.logs = &proctest.Log{}
	}
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.base + "/api/v1/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("edge not ready after 60s; logs:\n%s", tail(s.logs.String(), 8000))
}

// stop ends the edge gracefully, as Ctrl-C on `make run` does.
func (s *stack) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

func (s *stack) restart() {
	s.stop()
	s.start()
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %q: %v", r.body, err)
	}
}

// apiError decodes the error envelope and checks its invariants.
func (r *response) apiError(t *testing.T) api.Envelope {
	t.Helper()
	var env api.Envelope
	r.json(t, &env)
	if env.Error == nil || env.Error.Code == "" || env.Error.Message == "" {
		t.Fatalf("not an error envelope: %s", r.body)
	}
	if env.RequestID == "" || env.RequestID != r.header.Get("X-Request-ID") {
		t.Fatalf("request_id %q does not match header %q", env.RequestID, r.header.Get("X-Request-ID"))
	}
	if env.Timestamp.IsZero() {
		t.Fatalf("no timestamp: %s", r.body)
	}
	return env
}

func (s *stack) do(req *http.Request) *response {
	s.t.Helper()
	if s.key != "" && req.Context().Value(anonymousKey{}) == nil &&
		req.Header.Get("Authorization") == "" && req.Header.Get("X-API-Key") == "" {
		req.Header.Set("Authorization", "Bearer "+s.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("reading %s %s: %v", req.Method, req.URL, err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: body}
}

func (s *stack) get(path string) *response {
	s.t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, s.base+path, nil)
	return s.do(req)
}

func (s *stack) delete(path string) *response {
	s.t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodDelete, s.base+path, nil)
	return s.do(req)
}

// multipartBody builds a form with one file and extra fields.
func multipartBody(t *testing.T, filename string, data []byte, fields map[string]string) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func (s *stack) submit(filename string, data []byte, fields map[string]string) *response {
	s.t.Helper()
	body, ct := multipartBody(s.t, filename, data, fields)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, s.base+"/api/v1/documents", body)
	req.Header.Set("Content-Type", ct)
	return s.do(req)
}

// submitOK submits and returns the accepted job.
func (s *stack) submitOK(filename string, data []byte, fields map[string]string) api.Job {
	s.t.Helper()
	r := s.submit(filename, data, fields)
	if r.status != http.StatusAccepted {
		s.t.Fatalf("submit: %d %s", r.status, r.body)
	}
	var j api.Job
	r.json(s.t, &j)
	if r.header.Get("Location") != "/api/v1/jobs/"+j.JobID {
		s.t.Fatalf("Location %q for job %q", r.header.Get("Location"), j.JobID)
	}
	return j
}

// waitFor long-polls the job until it is terminal.
func (s *stack) waitFor(id string, within time.Duration) api.Job {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		r := s.get("/api/v1/jobs/" + id + "?wait=10s")
		if r.status != http.StatusOK {
			s.t.Fatalf("status of %s: %d %s", id, r.status, r.body)
		}
		var j api.Job
		r.json(s.t, &j)
		switch j.Status {
		case "succeeded", "failed", "canceled":
			return j
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("job %s still %s after %s", id, j.Status, within)
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
