package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io/fs"
	"mime"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/api/openapi"
	"github.com/docstrange/mesh/caddy-modules/docs"
)

// oaSpec is the OpenAPI document the edge should be serving, with the
// checks every answer of the e2e run goes through.
type oaSpec struct {
	doc *openapi.Document
	raw map[string]any
	// seen counts the error codes observed, to report them.
	seen map[string]int
}

func loadSpec(t *testing.T) *oaSpec {
	t.Helper()
	b, err := fs.ReadFile(openapi.FS, openapi.File)
	if err != nil {
		t.Fatal(err)
	}
	sp := &oaSpec{seen: map[string]int{}}
	if err := json.Unmarshal(b, &sp.raw); err != nil {
		t.Fatal(err)
	}
	if sp.doc, err = openapi.Parse(b); err != nil {
		t.Fatal(err)
	}
	return sp
}

// ref follows local $refs.
func (sp *oaSpec) ref(node map[string]any) map[string]any {
	for node != nil {
		r, ok := node["$ref"].(string)
		if !ok {
			return node
		}
		var n any = sp.raw
		for _, p := range strings.Split(strings.TrimPrefix(r, "#/"), "/") {
			m, _ := n.(map[string]any)
			n = m[strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")]
		}
		node, _ = n.(map[string]any)
	}
	return node
}

func child(node map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		node, _ = node[k].(map[string]any)
	}
	return node
}

// check asserts that r, the answer to method on the documented path
// template op, is documented: its status is one of the operation's, an
// error's code is one it lists, in the envelope; a JSON body fits the
// schema and the Content-Type is a documented one. Every answer carries
// X-Request-ID, and the authenticated operations' answers RateLimit-*.
func (sp *oaSpec) check(t *testing.T, method, op string, r *response) {
	t.Helper()
	where := method + " " + op + " → " + strconv.Itoa(r.status)
	o, ok := sp.doc.Operation(method, op)
	if !ok {
		t.Fatalf("%s: not a documented operation", where)
	}
	var env api.Envelope
	if r.status >= 400 && json.Unmarshal(r.body, &env) == nil && env.Error != nil {
		sp.seen[env.Error.Code]++
	}
	status := strconv.Itoa(r.status)
	res, ok := o.Responses[status]
	if !ok {
		t.Errorf("%s: status not documented for the operation: %s", where, r.body)
		return
	}
	if r.header.Get("X-Request-ID") == "" {
		t.Errorf("%s: no X-Request-ID", where)
	}
	// Refusals before the rate limiter (authentication, the route policy)
	// carry no RateLimit-*; everything it let through, and its own 429, do.
	if limited := r.header.Get("RateLimit-Limit") != ""; (r.status < 400 || r.status == http.StatusTooManyRequests) && limited == o.Public {
		t.Errorf("%s: RateLimit-Limit present: %v, on an operation that is public: %v", where, limited, o.Public)
	}
	if r.status >= 400 && method != http.MethodHead && len(res.ErrorCodes) > 0 {
		env := r.apiError(t)
		if !slices.Contains(res.ErrorCodes, env.Error.Code) {
			t.Errorf("%s: code %s is not in the response's x-error-codes %v", where, env.Error.Code, res.ErrorCodes)
		}
		return
	}
	content := child(sp.ref(child(sp.raw, "paths", op, strings.ToLower(method), "responses", status)), "content")
	if len(content) == 0 || len(r.body) == 0 || method == http.MethodHead {
		return
	}
	mt, _, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil || content[mt] == nil {
		t.Errorf("%s: Content-Type %q is not documented (%v)", where, r.header.Get("Content-Type"), keys(content))
		return
	}
	if mt == "application/json" {
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Errorf("%s: not JSON: %v", where, err)
			return
		}
		if schema := child(content, mt, "schema"); schema != nil {
			sp.conforms(t, schema, v, where)
		}
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// conforms checks v against the schema's structure: properties known,
// required ones present, types and enums, recursively.
func (sp *oaSpec) conforms(t *testing.T, schema map[string]any, v any, where string) {
	t.Helper()
	schema = sp.ref(schema)
	if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, v) {
		t.Errorf("%s: %v is not one of %v", where, v, enum)
	}
	var types []any
	switch ty := schema["type"].(type) {
	case string:
		types = []any{ty}
	case []any:
		types = ty
	}
	kind := map[bool]string{true: "integer", false: "number"}
	var got string
	switch x := v.(type) {
	case nil:
		got = "null"
	case bool:
		got = "boolean"
	case string:
		got = "string"
	case float64:
		got = kind[x == float64(int64(x))]
	case []any:
		got = "array"
		if items := child(schema, "items"); items != nil {
			for i, e := range x {
				sp.conforms(t, items, e, where+"["+strconv.Itoa(i)+"]")
			}
		}
	case map[string]any:
		got = "object"
		props := child(schema, "properties")
		extra := child(schema, "additionalProperties")
		// A schema that names no property is free-form; one that does
		// lists them all unless it says otherwise.
		allowExtra, _ := schema["additionalProperties"].(bool)
		allowExtra = allowExtra || props == nil && extra == nil
		for k, e := range x {
			switch {
			case props[k] != nil:
				sp.conforms(t, props[k].(map[string]any), e, where+"."+k)
			case extra != nil:
				sp.conforms(t, extra, e, where+"."+k)
			case !allowExtra:
				t.Errorf("%s: property %q is not documented", where, k)
			}
		}
		for _, req := range asList(schema["required"]) {
			if _, ok := x[req.(string)]; !ok {
				t.Errorf("%s: required property %q is missing", where, req)
			}
		}
	}
	if len(types) > 0 && !slices.Contains(types, any(got)) && !(got == "integer" && slices.Contains(types, any("number"))) {
		t.Errorf("%s: a %s, documented as %v", where, got, types)
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// oaRequest is one request of the e2e run, with the operation it targets.
type oaRequest struct {
	name   string
	method string
	// op is the documented path template; path the request's, when it
	// differs (ids filled in, a query).
	op, path string
	header   map[string]string
	body     []byte
	// anon sends no credentials unless header has some.
	anon bool
	want int
}

func (s *stack) send(q oaRequest) *response {
	s.t.Helper()
	path := q.path
	if path == "" {
		path = q.op
	}
	req, _ := http.NewRequest(q.method, s.base+path, bytes.NewReader(q.body))
	if q.anon {
		req = anonymous(req)
	}
	for k, v := range q.header {
		req.Header.Set(k, v)
	}
	return s.do(req)
}

// TestOpenAPI drives a running edge: the document it serves is the
// embedded one; the docs page and its files load from the edge alone
// under a strict Content-Security-Policy; every documented operation is
// served; and every answer of a run across the API, successes and errors,
// is one the document lists, with its code, headers and body shape.
func TestOpenAPI(t *testing.T) {
	s := startStack(t)
	sp := loadSpec(t)
	embedded, err := fs.ReadFile(openapi.FS, openapi.File)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("document", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, s.base+"/api/v1/openapi.json", nil)
		r := s.do(anonymous(req))
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" || !bytes.Equal(r.body, embedded) {
			t.Fatalf("GET /api/v1/openapi.json: %d %q, %d bytes (want the embedded %d)", r.status, r.header.Get("Content-Type"), len(r.body), len(embedded))
		}
		etag := r.header.Get("ETag")
		if etag == "" || r.header.Get("Cache-Control") == "" {
			t.Fatalf("ETag %q, Cache-Control %q", etag, r.header.Get("Cache-Control"))
		}
		sp.check(t, http.MethodGet, "/api/v1/openapi.json", r)
		req, _ = http.NewRequest(http.MethodGet, s.base+"/api/v1/openapi.json", nil)
		req.Header.Set("If-None-Match", etag)
		r = s.do(anonymous(req))
		if r.status != http.StatusNotModified {
			t.Fatalf("If-None-Match: %d", r.status)
		}
		sp.check(t, http.MethodGet, "/api/v1/openapi.json", r)
	})

	t.Run("docs page", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, s.base+"/docs", nil)
		r := s.do(anonymous(req))
		sp.check(t, http.MethodGet, "/docs", r)
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET /docs: %d %q", r.status, r.header.Get("Content-Type"))
		}
		csp := r.header.Values("Content-Security-Policy")
		if len(csp) != 1 || csp[0] != docs.PageCSP {
			t.Fatalf("Content-Security-Policy %q, want %q", csp, docs.PageCSP)
		}
		// Only this origin: no host, scheme or inline source anywhere.
		if regexp.MustCompile(`https?:|\*|'unsafe-|blob:`).MatchString(csp[0]) {
			t.Fatalf("the docs page's policy allows more than this origin: %s", csp[0])
		}
		if r.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("X-Frame-Options %q: the edge's security headers must still apply", r.header.Get("X-Frame-Options"))
		}
		refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(string(r.body), -1)
		loaded := 0
		for _, m := range refs {
			ref := m[1]
			if strings.HasPrefix(ref, "data:") {
				continue
			}
			if !strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "//") {
				t.Errorf("the page loads %q from another origin", ref)
				continue
			}
			req, _ := http.NewRequest(http.MethodGet, s.base+ref, nil)
			a := s.do(anonymous(req))
			if ref == "/api/v1/openapi.json" {
				continue // a link for readers without JavaScript
			}
			loaded++
			sp.check(t, http.MethodGet, "/docs/{file}", a)
			ct := a.header.Get("Content-Type")
			if a.status != http.StatusOK || !(strings.HasSuffix(ref, ".js") && strings.HasPrefix(ct, "text/javascript") ||
				strings.HasSuffix(ref, ".css") && strings.HasPrefix(ct, "text/css")) {
				t.Errorf("GET %s: %d %q", ref, a.status, ct)
			}
		}
		if loaded < 4 {
			t.Fatalf("the page loads %d files, want the viewer's script and style sheet and ours", loaded)
		}
		req, _ = http.NewRequest(http.MethodGet, s.base+"/docs/swagger-ui-bundle.js", nil)
		if a := s.do(anonymous(req)); !bytes.Contains(a.body, []byte("SwaggerUIBundle")) {
			t.Errorf("the bundle does not define SwaggerUIBundle (%d bytes)", len(a.body))
		}
	})

	t.Run("docs page in a browser", func(t *testing.T) {
		browserRendersDocs(t, s, sp)
	})

	t.Run("every documented operation is served", func(t *testing.T) {
		for _, o := range sp.doc.Operations {
			q := oaRequest{method: o.Method, op: o.Path, header: map[string]string{}}
			q.path = strings.NewReplacer("{id}", "openapi_probe", "{file}", "docs.js").Replace(o.Path)
			if strings.HasPrefix(o.Path, "/api/v1/uploads") {
				q.header["Tus-Resumable"] = "1.0.0"
				switch o.Method {
				case http.MethodPost:
					q.header["Upload-Length"] = "1"
				case http.MethodPatch:
					q.header["Upload-Offset"] = "0"
					q.header["Content-Type"] = "application/offset+octet-stream"
					q.body = []byte("x")
				}
			}
			if o.Path == "/api/v1/documents" {
				q.header["Content-Type"] = "application/json"
				q.body = []byte(`{"source":{"upload_id":"openapi_probe"}}`)
			}
			r := s.send(q)
			if r.status == http.StatusMethodNotAllowed || r.status == http.StatusNotFound && bytes.Contains(r.body, []byte(`"NOT_FOUND"`)) {
				t.Errorf("%s %s is documented but not served: %d %s", o.Method, q.path, r.status, r.body)
				continue
			}
			sp.check(t, o.Method, o.Path, r)
		}
	})

	t.Run("answers are documented", func(t *testing.T) {
		pdf := readFile(t, helloPDF)
		job := s.submitOK("hello.pdf", pdf, nil)
		if j := s.waitFor(job.JobID, 60*time.Second); j.Status != "succeeded" {
			t.Fatalf("job %+v", j)
		}
		jobPath := "/api/v1/jobs/" + job.JobID
		submitForm, submitType := multipartBody(t, "hello.pdf", pdf, map[string]string{"output_formats": "json,markdown"})
		form, formType := multipartBody(t, "hello.pdf", pdf, map[string]string{"ocr": "sometimes"})
		gpuForm, gpuType := multipartBody(t, "hello.pdf", pdf, map[string]string{"device": "gpu"})
		// A document of its own, so no earlier job answers it.
		note := []byte("openapi e2e: the Idempotency-Key document")
		first, firstType := multipartBody(t, "note.txt", note, nil)
		idemForm, idemType := multipartBody(t, "note.txt", note, map[string]string{"pages": "1"})
		upload := "/api/v1/uploads/" + lastSegment(s.tusCreate(s.key, 5, "filename aGVsbG8udHh0"))
		unfinished := s.tusCreate(s.key, 10, "")
		tus := func(h map[string]string) map[string]string {
			h["Tus-Resumable"] = "1.0.0"
			return h
		}
		withChunk := func(h map[string]string) map[string]string {
			h["Content-Type"] = "application/offset+octet-stream"
			return tus(h)
		}
		requests := []oaRequest{
			{name: "submit", method: "POST", op: "/api/v1/documents", header: map[string]string{"Content-Type": submitType}, body: submitForm.Bytes(), want: 202},
			{name: "idempotent submit", method: "POST", op: "/api/v1/documents",
				header: map[string]string{"Content-Type": firstType, "Idempotency-Key": "openapi-e2e"}, body: first.Bytes(), want: 202},
			{name: "idempotency key reused", method: "POST", op: "/api/v1/documents",
				header: map[string]string{"Content-Type": idemType, "Idempotency-Key": "openapi-e2e"}, body: idemForm.Bytes(), want: 422},
			{name: "submit, bad option", method: "POST", op: "/api/v1/documents", header: map[string]string{"Content-Type": formType}, body: form.Bytes(), want: 400},
			{name: "submit, not multipart", method: "POST", op: "/api/v1/documents", header: map[string]string{"Content-Type": "text/plain"}, body: pdf, want: 415},
			{name: "submit, unknown upload", method: "POST", op: "/api/v1/documents", header: map[string]string{"Content-Type": "application/json"},
				body: []byte(`{"source":{"upload_id":"nope"}}`), want: 404},
			{name: "submit, unfinished upload", method: "POST", op: "/api/v1/documents", header: map[string]string{"Content-Type": "application/json"},
				body: []byte(`{"source":{"upload_id":"` + lastSegment(unfinished) + `"}}`), want: 409},
			{name: "submit, gpu on the free tier", method: "POST", op: "/api/v1/documents", anon: true, header: map[string]string{"Content-Type": gpuType}, body: gpuForm.Bytes(), want: 403},
			{name: "submit, bad key", method: "POST", op: "/api/v1/documents", header: map[string]string{"Authorization": "Bearer dsk_nope_nope", "Content-Type": "application/json"}, body: []byte(`{}`), want: 401},
			{name: "status", method: "GET", op: "/api/v1/jobs/{id}", path: jobPath, want: 200},
			{name: "status, bad wait", method: "GET", op: "/api/v1/jobs/{id}", path: jobPath + "?wait=soon", want: 400},
			{name: "status, unknown job", method: "GET", op: "/api/v1/jobs/{id}", path: "/api/v1/jobs/job_nope", want: 404},
			{name: "list", method: "GET", op: "/api/v1/jobs", path: "/api/v1/jobs?limit=5", want: 200},
			{name: "list, bad limit", method: "GET", op: "/api/v1/jobs", path: "/api/v1/jobs?limit=0", want: 400},
			{name: "events of a finished job", method: "GET", op: "/api/v1/jobs/{id}/events", path: jobPath + "/events", want: 200},
			{name: "result json", method: "GET", op: "/api/v1/jobs/{id}/result", path: jobPath + "/result?format=json", want: 200},
			{name: "result markdown", method: "GET", op: "/api/v1/jobs/{id}/result", path: jobPath + "/result?format=markdown", want: 200},
			{name: "result html", method: "GET", op: "/api/v1/jobs/{id}/result", path: jobPath + "/result?format=html", want: 200},
			{name: "result text", method: "GET", op: "/api/v1/jobs/{id}/result", path: jobPath + "/result?format=text", want: 200},
			{name: "result, current etag", method: "GET", op: "/api/v1/jobs/{id}/result", path: jobPath + "/result?format=text",
				header: map[string]string{"If-None-Match": strconv.Quote(job.JobID + "-text")}, want: 304},
			{name: "result, bad format", method: "GET", op: "/api/v1/jobs/{id}/result", path: jobPath + "/result?format=pdf", want: 400},
			{name: "cancel a finished job", method: "DELETE", op: "/api/v1/jobs/{id}", path: jobPath, want: 409},
			{name: "me", method: "GET", op: "/api/v1/me", want: 200},
			{name: "me, anonymous", method: "GET", op: "/api/v1/me", anon: true, want: 200},
			{name: "usage", method: "GET", op: "/api/v1/usage", want: 200},
			{name: "usage, anonymous", method: "GET", op: "/api/v1/usage", anon: true, want: 200},
			{name: "tus discovery", method: "OPTIONS", op: "/api/v1/uploads/", want: 200},
			{name: "tus create", method: "POST", op: "/api/v1/uploads/", header: tus(map[string]string{"Upload-Length": "3"}), want: 201},
			{name: "tus create without the slash", method: "POST", op: "/api/v1/uploads", header: tus(map[string]string{"Upload-Length": "3"}), want: 201},
			{name: "tus create without version", method: "POST", op: "/api/v1/uploads/", header: map[string]string{"Upload-Length": "3"}, want: 412},
			{name: "tus create over the free tier", method: "POST", op: "/api/v1/uploads/", anon: true, header: tus(map[string]string{"Upload-Length": strconv.Itoa(20 << 20)}), want: 413},
			{name: "tus create, bad metadata", method: "POST", op: "/api/v1/uploads/", header: tus(map[string]string{"Upload-Length": "3", "Upload-Metadata": "b@d dGVzdA=="}), want: 400},
			{name: "tus offset", method: "HEAD", op: "/api/v1/uploads/{id}", path: upload, header: tus(map[string]string{}), want: 200},
			{name: "tus wrong offset", method: "PATCH", op: "/api/v1/uploads/{id}", path: upload, header: withChunk(map[string]string{"Upload-Offset": "3"}), body: []byte("lo"), want: 409},
			{name: "tus bad checksum", method: "PATCH", op: "/api/v1/uploads/{id}", path: upload,
				header: withChunk(map[string]string{"Upload-Offset": "0", "Upload-Checksum": uploadChecksum("sha1", []byte("other"))}), body: []byte("hello"), want: 460},
			{name: "tus chunk", method: "PATCH", op: "/api/v1/uploads/{id}", path: upload, header: withChunk(map[string]string{"Upload-Offset": "0"}), body: []byte("hello"), want: 204},
			{name: "tus delete", method: "DELETE", op: "/api/v1/uploads/{id}", path: upload, header: tus(map[string]string{}), want: 204},
			{name: "tus offset of a deleted upload", method: "HEAD", op: "/api/v1/uploads/{id}", path: upload, header: tus(map[string]string{}), want: 404},
			{name: "tus patch of a deleted upload", method: "PATCH", op: "/api/v1/uploads/{id}", path: upload, header: withChunk(map[string]string{"Upload-Offset": "0"}), body: []byte("x"), want: 404},
			{name: "live", method: "GET", op: "/api/v1/health/live", anon: true, want: 200},
			{name: "ready", method: "GET", op: "/api/v1/health/ready", anon: true, want: 200},
			{name: "health", method: "GET", op: "/api/v1/health", anon: true, want: 200},
			{name: "ping", method: "GET", op: "/api/v1/ping", anon: true, want: 200},
			{name: "docs, unknown file", method: "GET", op: "/docs/{file}", path: "/docs/nope.js", anon: true, want: 404},
		}
		for _, q := range requests {
			r := s.send(q)
			if r.status != q.want {
				t.Errorf("%s: %d, want %d: %s", q.name, r.status, q.want, r.body)
			}
			sp.check(t, q.method, q.op, r)
		}
		// Last, as it spends the anonymous budget: the free tier's rate.
		limited := false
		for i := 0; i < 30 && !limited; i++ {
			r := s.send(oaRequest{method: "GET", op: "/api/v1/me", anon: true})
			sp.check(t, http.MethodGet, "/api/v1/me", r)
			limited = r.status == http.StatusTooManyRequests
		}
		if !limited {
			t.Error("the free tier's rate limit never answered 429")
		}
	})

	t.Run("codes observed are documented", func(t *testing.T) {
		for code, n := range sp.seen {
			if !slices.Contains(sp.doc.ErrorCodes, code) {
				t.Errorf("the edge answered %s (%d times), which the ErrorCode schema lacks", code, n)
			}
		}
		// The run must have exercised the error paths it claims to.
		for _, code := range []string{api.CodeInvalidRequest, api.CodeUnauthenticated, api.CodeForbidden, api.CodeJobNotFound,
			api.CodeJobFinished, api.CodeUploadNotFound, api.CodeUploadNotFinished, api.CodeUploadOffsetMismatch,
			api.CodeTusVersion, api.CodeChecksumMismatch, api.CodeFileTooLarge, api.CodeUnsupportedMediaType,
			api.CodeIdempotencyKeyReused, api.CodeRateLimitExceeded, api.CodeNotFound} {
			if sp.seen[code] == 0 {
				t.Errorf("the run never saw %s", code)
			}
		}
		t.Logf("codes seen: %v", sp.seen)
	})
}

func lastSegment(p string) string { return p[strings.LastIndex(p, "/")+1:] }

// browserRendersDocs opens /docs in headless Chromium: the viewer must
// render every documented operation, with no Content-Security-Policy
// violation and no script error on the console (Chromium logs both as
// CONSOLE lines). Chromium is a Debian package the machine may lack
// (apt-get install chromium-headless-shell); without it the check is
// skipped, and says so.
func browserRendersDocs(t *testing.T, s *stack, sp *oaSpec) {
	var browser string
	for _, name := range []string{"chromium-headless-shell", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		t.Skip("no Chromium on this machine (apt-get install chromium-headless-shell): the page is checked without a browser only")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--enable-logging=stderr", "--v=1", "--virtual-time-budget=15000",
		"--dump-dom", s.base+"/docs")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", browser, err, tail(stderr.String(), 4000))
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, ":CONSOLE") {
			t.Errorf("browser console: %s", line)
		}
	}
	var rendered []string
	for _, m := range regexp.MustCompile(`class="opblock opblock-([a-z]+)[\s\S]*?data-path="([^"]+)"`).FindAllStringSubmatch(string(dom), -1) {
		rendered = append(rendered, strings.ToUpper(m[1])+" "+html.UnescapeString(m[2]))
	}
	sort.Strings(rendered)
	if want := sp.doc.Patterns(); !slices.Equal(rendered, want) {
		t.Fatalf("the page rendered %d operations:\n%v\nwant %d:\n%v", len(rendered), rendered, len(want), want)
	}
}
