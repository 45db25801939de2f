package s3test

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// status sends a request signed with s's keys and returns the status and body.
func status(t *testing.T, s *Server, method, path string, body []byte) (int, []byte) {
	t.Helper()
	return statusAs(t, s, s.access, s.secret, method, path, body)
}

// statusAs is status with the given keys.
func statusAs(t *testing.T, s *Server, access, secret, method, path string, body []byte) (int, []byte) {
	t.Helper()
	resp, err := send(s.Endpoint(), access, secret, method, path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp.StatusCode, got
}

// errorCode extracts the code from an S3 XML error body.
func errorCode(body []byte) string {
	var e s3Error
	_ = xml.Unmarshal(body, &e)
	return e.Code
}

func TestServer(t *testing.T) {
	tests := []struct {
		name    string
		sidecar bool
	}{
		{name: "metadata in xattrs"},
		{name: "metadata in a sidecar folder", sidecar: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, tt.sidecar)
			if err := ping(s.Endpoint()); err != nil {
				t.Fatalf("unsigned request: %v", err)
			}
			if code, body := status(t, s, http.MethodHead, "/"+s.Bucket(), nil); code != http.StatusOK {
				t.Fatalf("HeadBucket %s = %d %s; want 200", s.Bucket(), code, body)
			}
			if code, _ := status(t, s, http.MethodHead, "/no-such-bucket", nil); code != http.StatusNotFound {
				t.Fatalf("HeadBucket no-such-bucket = %d; want 404", code)
			}

			key := "/" + s.Bucket() + "/dir/object.bin"
			want := bytes.Repeat([]byte("docstrange "), 1000)
			if code, body := status(t, s, http.MethodPut, key, want); code != http.StatusOK {
				t.Fatalf("PutObject = %d %s; want 200", code, body)
			}
			if code, got := status(t, s, http.MethodGet, key, nil); code != http.StatusOK || !bytes.Equal(got, want) {
				t.Fatalf("GetObject = %d, %d bytes; want 200, %d bytes", code, len(got), len(want))
			}
			onDisk, err := os.ReadFile(filepath.Join(s.Dir(), s.Bucket(), "dir", "object.bin"))
			if err != nil || !bytes.Equal(onDisk, want) {
				t.Fatalf("object file: %d bytes, %v; want %d bytes", len(onDisk), err, len(want))
			}

			// A wrong secret must fail: authentication is real.
			if code, body := statusAs(t, s, s.access, randomKey(20), http.MethodGet, key, nil); code != http.StatusForbidden || errorCode(body) != "SignatureDoesNotMatch" {
				t.Fatalf("GetObject with a wrong secret = %d %s; want 403 SignatureDoesNotMatch", code, errorCode(body))
			}

			s.Kill()
			if err := ping(s.Endpoint()); err == nil {
				t.Fatal("server still answers after Kill")
			}
			s.Restart()
			if code, got := status(t, s, http.MethodGet, key, nil); code != http.StatusOK || !bytes.Equal(got, want) {
				t.Fatalf("GetObject after Restart = %d, %d bytes; want 200, %d bytes", code, len(got), len(want))
			}
		})
	}
}

func TestServersAreIsolated(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Endpoint() == b.Endpoint() || a.Dir() == b.Dir() || a.AccessKey() == b.AccessKey() || a.SecretKey() == b.SecretKey() {
		t.Fatalf("servers share an endpoint, folder or keys: %s %s, %s %s", a.Endpoint(), b.Endpoint(), a.Dir(), b.Dir())
	}
	key := "/" + a.Bucket() + "/only-a"
	if code, body := status(t, a, http.MethodPut, key, []byte("a")); code != http.StatusOK {
		t.Fatalf("PutObject on a = %d %s", code, body)
	}
	if code, body := status(t, b, http.MethodGet, key, nil); code != http.StatusNotFound || errorCode(body) != "NoSuchKey" {
		t.Fatalf("GetObject on b = %d %s; want 404 NoSuchKey", code, errorCode(body))
	}
	// a's keys mean nothing to b. AWS answers 403 InvalidAccessKeyId here;
	// versitygw v1.8.0 in single-account mode answers 404 XAdminUserNotFound.
	code, body := statusAs(t, b, a.access, a.secret, http.MethodGet, key, nil)
	if got := errorCode(body); !(code == http.StatusForbidden && got == "InvalidAccessKeyId" ||
		code == http.StatusNotFound && got == "XAdminUserNotFound") {
		t.Fatalf("GetObject on b with a's keys = %d %s; want an unknown-key error", code, got)
	}
	if a.Region() != "us-east-1" || a.Bucket() != bucket {
		t.Fatalf("Region, Bucket = %s, %s", a.Region(), a.Bucket())
	}
}
