package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/docstrange/mesh/api"
)

// fakeAPI is a small in-memory stand-in for the edge's job API: enough to
// drive each command's branches. The real edge is driven end to end by
// e2e/cli_test.go.
type fakeAPI struct {
	mu   sync.Mutex
	jobs map[string]*api.Job
	docs map[string]string
	// idem maps Idempotency-Keys to jobs.
	idem map[string]string
	// keys seen on submissions.
	keys []string
}

func newFakeAPI(t *testing.T) (*fakeAPI, *httptest.Server) {
	f := &fakeAPI{jobs: map[string]*api.Job{}, docs: map[string]string{}, idem: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/documents", f.submit)
	mux.HandleFunc("GET /api/v1/jobs/{id}", f.withJob(func(w http.ResponseWriter, r *http.Request, j *api.Job) {
		writeJSON(w, 200, j)
	}))
	mux.HandleFunc("GET /api/v1/jobs/{id}/events", f.withJob(f.events))
	mux.HandleFunc("GET /api/v1/jobs/{id}/result", f.withJob(f.result))
	mux.HandleFunc("DELETE /api/v1/jobs/{id}", f.withJob(f.cancel))
	mux.HandleFunc("GET /api/v1/jobs", f.list)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-ID", "req_test")
		if r.Header.Get("Authorization") != "Bearer dsk_good" {
			api.WriteError(w, api.Errorf(401, api.CodeUnauthenticated, "the API key is unknown"))
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return f, srv
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// submit accepts a document; its content decides its fate: "FAIL" fails,
// "SLOW" stays running, anything else succeeds, with two pages.
func (f *fakeAPI) submit(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := r.Header.Get("Idempotency-Key")
	f.keys = append(f.keys, key)
	file, fh, err := r.FormFile("file")
	if err != nil {
		api.WriteError(w, api.Errorf(400, api.CodeInvalidRequest, "no file").With("field", "file"))
		return
	}
	b, _ := io.ReadAll(file)
	var opts struct {
		Pages string `json:"pages"`
	}
	json.Unmarshal([]byte(r.FormValue("options")), &opts)
	if opts.Pages == "0" {
		api.WriteError(w, api.Errorf(400, api.CodeInvalidRequest, "pages must be positive").With("field", "pages"))
		return
	}
	id := fmt.Sprintf("job_%d", len(f.jobs)+1)
	j := &api.Job{ID: id, JobID: id, Filename: fh.Filename, Progress: api.Progress{PagesTotal: 2}}
	switch strings.TrimSpace(string(b)) {
	case "FAIL":
		j.Status, j.Progress.PagesDone = "failed", 1
		j.Error = &api.JobError{Code: api.CodeProcessingError, Message: "page 2 is damaged"}
	case "SLOW":
		j.Status = "running"
	default:
		j.Status, j.Progress.PagesDone = "succeeded", 2
	}
	f.jobs[id], f.docs[id] = j, string(b)
	writeJSON(w, http.StatusAccepted, j)
}

func (f *fakeAPI) withJob(h func(http.ResponseWriter, *http.Request, *api.Job)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		j, ok := f.jobs[r.PathValue("id")]
		var c api.Job
		if ok {
			c = *j
		}
		f.mu.Unlock()
		if !ok {
			api.WriteError(w, api.Errorf(404, api.CodeJobNotFound, "no job with id %q", r.PathValue("id")).With("job_id", r.PathValue("id")))
			return
		}
		h(w, r, &c)
	}
}

// events replays the job's life: queued, each page, then its state.
func (f *fakeAPI) events(w http.ResponseWriter, r *http.Request, j *api.Job) {
	w.Header().Set("Content-Type", "text/event-stream")
	send := func(status string, done int) {
		v := *j
		v.Status, v.Progress.PagesDone = status, done
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, ": keep-alive\n\nevent: status\ndata: %s\n\n", b)
	}
	send("queued", 0)
	for p := 0; p <= j.Progress.PagesDone; p++ {
		send("running", p)
	}
	send(j.Status, j.Progress.PagesDone)
}

func (f *fakeAPI) result(w http.ResponseWriter, r *http.Request, j *api.Job) {
	if j.Status != "succeeded" {
		api.WriteError(w, api.Errorf(409, api.CodeJobNotFinished, "the job is %s; the result is not ready", j.Status).With("job_id", j.JobID))
		return
	}
	f.mu.Lock()
	doc := f.docs[j.JobID]
	f.mu.Unlock()
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "markdown"
	}
	fmt.Fprintf(w, "# %s as %s: %s", j.Filename, format, strings.TrimSpace(doc))
}

func (f *fakeAPI) cancel(w http.ResponseWriter, r *http.Request, j *api.Job) {
	if j.Status != "running" && j.Status != "queued" {
		api.WriteError(w, api.Errorf(409, api.CodeJobFinished, "the job already finished and cannot be canceled"))
		return
	}
	f.mu.Lock()
	f.jobs[j.JobID].Status = "canceled"
	f.mu.Unlock()
	j.Status = "canceled"
	writeJSON(w, 200, j)
}

// list pages through the jobs two at a time, newest first.
func (f *fakeAPI) list(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.jobs)
	start := n
	if c := r.URL.Query().Get("cursor"); c != "" {
		fmt.Sscanf(c, "%d", &start)
	}
	var out api.JobList
	for i := start; i > 0 && len(out.Jobs) < 2; i-- {
		out.Jobs = append(out.Jobs, *f.jobs[fmt.Sprintf("job_%d", i)])
	}
	if next := start - 2; next > 0 {
		out.NextCursor = fmt.Sprint(next)
	}
	writeJSON(w, 200, out)
}

// cli runs the command against srv with standard error not a terminal.
func cli(t *testing.T, srv *httptest.Server, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := map[string]string{envURL: srv.URL, envKey: "dsk_good"}
	a := &app{
		stdout: &out, stderr: &errb, stdin: strings.NewReader(stdin),
		getenv:     func(k string) string { return env[k] },
		isTerminal: func(io.Writer) bool { return false },
		version:    "v9.9.9 (commit test)",
	}
	code = a.run(t.Context(), args)
	return code, out.String(), errb.String()
}

func writeDoc(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCommands(t *testing.T) {
	dir := t.TempDir()
	good := writeDoc(t, dir, "good.pdf", "GOOD")
	other := writeDoc(t, dir, "other.pdf", "OTHER")
	bad := writeDoc(t, dir, "bad.pdf", "FAIL")
	tests := []struct {
		name       string
		stdin      string
		args       []string
		wantCode   int
		wantOut    []string
		wantErr    []string
		wantOutNot []string
	}{
		{name: "version", args: []string{"--version"}, wantOut: []string{"docstrange v9.9.9 (commit test)"}},
		{name: "version command", args: []string{"version"}, wantOut: []string{"v9.9.9"}},
		{name: "help", args: []string{"help"}, wantOut: []string{"Exit status:", "submit FILE|URL..."}},
		{name: "help of a command", args: []string{"help", "submit"}, wantOut: []string{"-upload-threshold", "-wait"}},
		{name: "no command", args: nil, wantCode: exitUsage, wantErr: []string{"Usage:"}},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: exitUsage, wantErr: []string{`unknown command "frobnicate"`}},
		{name: "unknown flag", args: []string{"submit", good, "--colour"}, wantCode: exitUsage, wantErr: []string{"-colour"}},
		{name: "bad format", args: []string{"submit", good, "--format", "pdf"}, wantCode: exitUsage, wantErr: []string{`"pdf" is not one of markdown`}},
		{name: "submit without files", args: []string{"submit", "--wait"}, wantCode: exitUsage},
		{
			name: "submit prints job ids", args: []string{"submit", good, other},
			wantOut: []string{"job_1\njob_2\n"},
		},
		{
			name: "submit --wait prints the results one after another, flags after the files", args: []string{"submit", good, other, "--wait", "--format", "text"},
			wantOut: []string{"# good.pdf as text: GOOD\n# other.pdf as text: OTHER\n"},
		},
		{
			name: "submit from standard input", stdin: "PIPED", args: []string{"submit", "--wait", "-"},
			wantOut: []string{"# stdin as markdown: PIPED"},
		},
		{
			name: "a failed job among others exits 1 and names it", args: []string{"submit", "--wait", good, bad},
			wantCode: exitJobFailed, wantOut: []string{"# good.pdf as markdown: GOOD"},
			wantErr: []string{"bad.pdf: job job_2 failed: PROCESSING_ERROR: page 2 is damaged"},
		},
		{
			name: "an API refusal exits 3 with code, message, request id and details", args: []string{"submit", good, "--pages", "0"},
			wantCode: exitAPI, wantErr: []string{"INVALID_REQUEST: pages must be positive (HTTP 400, request req_test)", `details: {"field":"pages"}`},
		},
		{
			name: "a missing file exits 4 and the others still go", args: []string{"submit", filepath.Join(dir, "nope.pdf"), good},
			wantCode: exitUnreachable, wantOut: []string{"job_1\n"}, wantErr: []string{"nope.pdf"},
		},
		{
			name: "a wrong key", args: []string{"status", "job_1", "--key", "dsk_bad"},
			wantCode: exitAPI, wantErr: []string{"UNAUTHENTICATED: the API key is unknown"},
		},
		{
			name: "status of an unknown job", args: []string{"status", "job_404"},
			wantCode: exitAPI, wantErr: []string{`JOB_NOT_FOUND: no job with id "job_404" (HTTP 404, request req_test)`},
		},
		{
			name: "an unreachable edge exits 4", args: []string{"--url", "http://127.0.0.1:1", "status", "job_1"},
			wantCode: exitUnreachable, wantErr: []string{"connect"},
		},
		{name: "a bad --url", args: []string{"--url", "localhost:8080", "list"}, wantCode: exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newFakeAPI(t)
			code, out, errOut := cli(t, srv, tt.stdin, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
}

// TestJobCommands drives status, result, cancel, watch and list against
// one fake edge with jobs in every state.
func TestJobCommands(t *testing.T) {
	dir := t.TempDir()
	f, srv := newFakeAPI(t)
	for _, doc := range []string{"GOOD", "FAIL", "SLOW", "SLOW"} {
		if code, _, errOut := cli(t, srv, "", "submit", writeDoc(t, dir, strings.ToLower(doc)+".pdf", doc)); code != 0 {
			t.Fatalf("submit %s: %s", doc, errOut)
		}
	}
	// job_1 succeeded, job_2 failed, job_3 and job_4 are running.
	if len(f.keys) != 4 || f.keys[0] == "" || f.keys[0] == f.keys[1] {
		t.Fatalf("Idempotency-Keys %q: want one per submission", f.keys)
	}
	out := filepath.Join(dir, "out.html")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
		wantErr  []string
		check    func(t *testing.T)
	}{
		{name: "status table", args: []string{"status", "job_1", "job_2"},
			wantOut: []string{"job_1", "succeeded", "2/2", "good.pdf", "job_2", "failed", "PROCESSING_ERROR: page 2 is damaged"}},
		{name: "status json", args: []string{"status", "--json", "job_3"}, wantOut: []string{`"status":"running"`}},
		{name: "result to standard output", args: []string{"result", "job_1", "--format", "json"}, wantOut: []string{"# good.pdf as json: GOOD"}},
		{name: "result to a file", args: []string{"result", "job_1", "-o", out, "--format", "html"},
			check: func(t *testing.T) {
				b, err := os.ReadFile(out)
				if err != nil || string(b) != "# good.pdf as html: GOOD" {
					t.Fatalf("%s: %q %v", out, b, err)
				}
				if m, _ := filepath.Glob(filepath.Join(dir, ".out.html.*")); len(m) != 0 {
					t.Fatalf("temporary files left: %v", m)
				}
			}},
		{name: "result of a failed job", args: []string{"result", "job_2"}, wantCode: exitAPI, wantErr: []string{"JOB_NOT_FINISHED"}},
		{name: "watch a job that succeeds", args: []string{"watch", "job_1"},
			wantOut: []string{"job_1 succeeded (2/2 pages)"},
			wantErr: []string{"job_1 queued 0/2 pages\n", "job_1 running 0/2 pages\n", "job_1 running 1/2 pages\n", "job_1 running 2/2 pages\n", "job_1 succeeded 2/2 pages\n"}},
		{name: "watch a job that fails exits 1", args: []string{"watch", "job_2"}, wantCode: exitJobFailed,
			wantOut: []string{"job_2 failed (1/2 pages)"}, wantErr: []string{"PROCESSING_ERROR: page 2 is damaged"}},
		{name: "cancel", args: []string{"cancel", "job_3"}, wantOut: []string{"job_3 canceled"}},
		{name: "cancel a finished job exits 3", args: []string{"cancel", "job_1", "job_4"}, wantCode: exitAPI,
			wantOut: []string{"job_4 canceled"}, wantErr: []string{"JOB_ALREADY_FINISHED"}},
		{name: "watch a canceled job exits 1", args: []string{"watch", "job_3"}, wantCode: exitJobFailed, wantOut: []string{"job_3 canceled"}},
		{name: "list, one page", args: []string{"list"}, wantOut: []string{"job_4", "job_3"}, wantErr: []string{"more: docstrange list --cursor 2"}},
		{name: "list, every page", args: []string{"list", "--all", "--json"}, wantOut: []string{`"job_id":"job_4"`, `"job_id":"job_1"`}},
		{name: "list takes no arguments", args: []string{"list", "job_1"}, wantCode: exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, srv, "", tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, stdout, stderr)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if tt.check != nil {
				tt.check(t)
			}
		})
	}
}
