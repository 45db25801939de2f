// Package s3test starts real S3-compatible servers for tests. Each one is a
// versitygw gateway with its posix backend, on a free 127.0.0.1 port, with its
// own data folder, freshly generated keys and one empty bucket, and it is
// stopped in t.Cleanup. Tests of S3-backed code, such as the tusd s3store, use
// it instead of fakes (STYLE.md, Tests).
//
// The binary comes from DOCSTRANGE_S3_BIN when that is set. Otherwise it comes
// from scripts/s3-server.sh, which builds it once from the Go module proxy
// into a cache folder outside the repository. That first build takes a few
// minutes.
package s3test

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docstrange/mesh/internal/proctest"
)

const (
	// region is the region that the server accepts in signatures.
	region = "us-east-1"
	// bucket is the bucket that Start creates.
	bucket = "docstrange-test"
	// startTimeout bounds how long a start or restart may take to answer.
	startTimeout = 15 * time.Second
)

// binPath finds or builds the server binary once per test process.
var binPath = sync.OnceValues(findBinary)

func findBinary() (string, error) {
	if bin := os.Getenv("DOCSTRANGE_S3_BIN"); bin != "" {
		return bin, nil
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate the repository: runtime.Caller failed")
	}
	script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "s3-server.sh")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("bash", script, "path")
	cmd.Stdout = &stdout
	// Show the build's progress as it happens: the first build takes minutes.
	cmd.Stderr = io.MultiWriter(os.Stderr, &stderr)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s path: %v\n%s", script, err, stderr.String())
	}
	bin := strings.TrimSpace(stdout.String())
	if bin == "" {
		return "", fmt.Errorf("%s path printed nothing", script)
	}
	return bin, nil
}

// Server is one versitygw process owned by a test.
type Server struct {
	t       testing.TB
	bin     string
	dir     string // data root: each bucket is a folder, each object a file
	meta    string // sidecar metadata folder, used where xattrs are missing
	sidecar bool
	port    int
	access  string
	secret  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	log  *proctest.Log
}

// Start launches the server on a free port, waits until it answers, and
// creates Bucket. It calls t.Fatal when it cannot get the binary, because a
// silent skip would hide that the S3 store went untested.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, false)
}

// start is Start, with sidecar metadata from the outset when sidecar is set.
// Tests use it to cover the fallback for filesystems without xattrs.
func start(t testing.TB, sidecar bool) *Server {
	t.Helper()
	bin, err := binPath()
	if err != nil {
		t.Fatalf("s3test: getting the S3 server binary: %v", err)
	}
	tmp := t.TempDir()
	s := &Server{
		t:       t,
		bin:     bin,
		dir:     filepath.Join(tmp, "data"),
		meta:    filepath.Join(tmp, "meta"),
		access:  randomKey(10),
		secret:  randomKey(20),
		sidecar: sidecar,
	}
	for _, d := range []string{s.dir, s.meta} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatalf("s3test: %v", err)
		}
	}
	t.Cleanup(s.stop)

	// Another process may take the free port between probing and binding;
	// try a few ports before giving up.
	for attempt := 0; ; attempt++ {
		s.port, err = proctest.FreePort()
		if err == nil {
			err = s.launch()
		}
		if err == nil {
			break
		}
		if attempt == 2 {
			t.Fatalf("s3test: starting %s: %v", s.bin, err)
		}
	}
	if err := s.createBucket(); err != nil {
		t.Fatalf("s3test: creating bucket %s: %v", bucket, err)
	}
	return s
}

// Endpoint is the base URL that clients use, with path-style addressing.
func (s *Server) Endpoint() string {
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// Region is the region to sign requests for.
func (s *Server) Region() string { return region }

// AccessKey is the root account's access key ID.
func (s *Server) AccessKey() string { return s.access }

// SecretKey is the root account's secret access key.
func (s *Server) SecretKey() string { return s.secret }

// Bucket is the empty bucket that Start created.
func (s *Server) Bucket() string { return bucket }

// Dir is the data root. The object KEY in bucket B is the file Dir()/B/KEY.
func (s *Server) Dir() string { return s.dir }

// Kill sends SIGKILL, as a crash would, and waits for the process to exit.
func (s *Server) Kill() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.t.Fatal("s3test: Kill of a server that is not running")
	}
	if err := s.cmd.Process.Kill(); err != nil {
		s.t.Fatalf("s3test: killing versitygw: %v", err)
	}
	<-s.done
	s.cmd = nil
}

// Restart starts the server again on the same port, data folder and keys,
// killing it first if it still runs, and waits until it answers. Buckets and
// objects that were written before survive.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	running := s.cmd != nil
	s.mu.Unlock()
	if running {
		s.Kill()
	}
	if err := s.launch(); err != nil {
		s.t.Fatalf("s3test: restarting versitygw: %v", err)
	}
}

// launch starts the process on s.port and waits until it answers. When the
// data folder's filesystem lacks user xattrs, where the posix backend keeps
// its metadata, it starts again with a sidecar metadata folder instead.
func (s *Server) launch() error {
	err := s.launchOnce()
	var noXattr xattrError
	if errors.As(err, &noXattr) && !s.sidecar {
		s.sidecar = true
		err = s.launchOnce()
	}
	return err
}

// xattrError means the server refused a data folder without user xattrs.
type xattrError struct{ error }

func (s *Server) launchOnce() error {
	args := []string{
		"--port", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)),
		"--access", s.access, "--secret", s.secret, "--region", region,
		"--quiet", // no line per request
		"posix",
	}
	if s.sidecar {
		args = append(args, "--sidecar", s.meta)
	}
	args = append(args, s.dir)

	log := &proctest.Log{}
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	// versitygw also reads settings from VGW_* and ROOT_* variables. Leave
	// them out, so that the caller's shell cannot change what the flags say.
	cmd.Env = cleanEnv()
	cmd.Stdout = log
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting process: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit status of a killed server says nothing
		close(done)
	}()

	deadline := time.Now().Add(startTimeout)
	for {
		if ping(s.Endpoint()) == nil {
			break
		}
		select {
		case <-done:
			err := fmt.Errorf("versitygw exited early:\n%s", log.String())
			if strings.Contains(log.String(), "xattrs are not supported") {
				return xattrError{err}
			}
			return err
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("versitygw did not answer within %s:\n%s", startTimeout, log.String())
		}
	}
	s.mu.Lock()
	s.cmd, s.done, s.log = cmd, done, log
	s.mu.Unlock()
	return nil
}

// stop ends the process at cleanup. SIGKILL is enough: the data folder is a
// t.TempDir that is removed next.
func (s *Server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
	if s.t.Failed() && s.log != nil {
		s.t.Logf("versitygw log:\n%s", s.log.String())
	}
}

// createBucket sends a signed CreateBucket, just as an S3 client would, so
// that the gateway also stores the bucket's owner and ACL. A bare folder
// would lack them.
func (s *Server) createBucket() error {
	resp, err := s.do(http.MethodPut, "/"+bucket, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("status %s: %s", resp.Status, body)
	}
	return nil
}

// s3Error is the XML body of an S3 error response.
type s3Error struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// ping sends an unsigned GET /. A running S3 server answers 403 with an XML
// AccessDenied error, and anything else counts as not ready.
func ping(endpoint string) error {
	client := http.Client{Timeout: time.Second}
	resp, err := client.Get(endpoint + "/")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var e s3Error
	if err := xml.NewDecoder(resp.Body).Decode(&e); err != nil {
		return fmt.Errorf("status %s without an S3 XML error: %w", resp.Status, err)
	}
	if resp.StatusCode != http.StatusForbidden || e.Code != "AccessDenied" {
		return fmt.Errorf("unsigned GET / = %s %s; want 403 AccessDenied", resp.Status, e.Code)
	}
	return nil
}

// do sends one request signed with the server's keys.
func (s *Server) do(method, path string, body []byte) (*http.Response, error) {
	return send(s.Endpoint(), s.access, s.secret, method, path, body)
}

// send sends one request signed with AWS Signature Version 4, with path-style
// addressing and no query string. Only unreserved characters and '/' may
// appear in path. This is all that Start needs. Tests of real clients use the
// AWS SDK.
func send(endpoint, access, secret, method, path string, body []byte) (*http.Response, error) {
	for _, r := range path {
		if !isUnreserved(r) && r != '/' {
			return nil, fmt.Errorf("s3test: path %q needs escaping, which do does not do", path)
		}
	}
	req, err := http.NewRequest(method, endpoint+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	amzDate := now.Format("20060102T150405Z")
	day := now.Format("20060102")
	payload := sha256.Sum256(body)
	payloadHex := hex.EncodeToString(payload[:])
	req.Header.Set("X-Amz-Date", amzDate)
	req.Header.Set("X-Amz-Content-Sha256", payloadHex)

	const signed = "host;x-amz-content-sha256;x-amz-date"
	canonical := strings.Join([]string{
		method,
		path,
		"", // query string
		"host:" + req.URL.Host,
		"x-amz-content-sha256:" + payloadHex,
		"x-amz-date:" + amzDate,
		"",
		signed,
		payloadHex,
	}, "\n")
	scope := day + "/" + region + "/s3/aws4_request"
	canonicalHash := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(canonicalHash[:])
	key := []byte("AWS4" + secret)
	for _, part := range []string{day, region, "s3", "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	req.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		access, scope, signed, hex.EncodeToString(hmacSHA256(key, toSign))))
	client := http.Client{Timeout: 10 * time.Second}
	return client.Do(req)
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func isUnreserved(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' ||
		r == '-' || r == '_' || r == '.' || r == '~'
}

// randomKey returns 2n upper-case hex characters.
func randomKey(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return strings.ToUpper(hex.EncodeToString(b))
}

// cleanEnv is the test's environment without the variables that versitygw
// reads as settings, so that the flags above are all that configure it.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "VGW_") || strings.HasPrefix(name, "ROOT_") ||
			name == "LOGFILE" || name == "WEBHOOK" {
			continue
		}
		env = append(env, kv)
	}
	return env
}
