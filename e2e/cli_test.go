package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cliRun is one finished run of the docstrange command.
type cliRun struct {
	code           int
	stdout, stderr string
}

// cli runs the docstrange binary against a stack, as a user would: the
// edge and the key come from the environment.
type cli struct {
	bin string
	s   *stack
}

func (c *cli) run(t *testing.T, args ...string) cliRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = append(os.Environ(), "DOCSTRANGE_URL="+c.s.base, "DOCSTRANGE_API_KEY="+c.s.key)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := cliRun{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("docstrange %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// ok runs the command and fails the test unless it exits 0.
func (c *cli) ok(t *testing.T, args ...string) cliRun {
	t.Helper()
	r := c.run(t, args...)
	if r.code != 0 {
		t.Fatalf("docstrange %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

var jobIDLine = regexp.MustCompile(`^job_[0-9a-v]{20}$`)

// jobID is the single job id a submit without --wait printed.
func jobID(t *testing.T, r cliRun) string {
	t.Helper()
	id := strings.TrimSpace(r.stdout)
	if !jobIDLine.MatchString(id) {
		t.Fatalf("submit printed %q, not one job id (stderr %s)", r.stdout, r.stderr)
	}
	return id
}

func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "docstrange")
	if err := goBuildFlags(bin, "../edge/cmd/docstrange", "-ldflags", "-X 'main.version=e2e (commit test)'"); err != nil {
		t.Fatalf("building the CLI: %v", err)
	}
	return bin
}

func writeTemp(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCLI drives the docstrange command, built from source, against a real
// edge: submissions in one request and through tus, results, status,
// listing, errors with their exit statuses, and watch's progress.
func TestCLI(t *testing.T) {
	bin := buildCLI(t)
	s := startStack(t)
	c := &cli{bin: bin, s: s}
	dir := t.TempDir()
	hello := writeTemp(t, dir, "hello.pdf", readFile(t, helloPDF))
	twoPages := writeTemp(t, dir, "two.pdf", makePDF(2))

	t.Run("version", func(t *testing.T) {
		if r := c.ok(t, "--version"); r.stdout != "docstrange e2e (commit test)\n" {
			t.Fatalf("--version printed %q", r.stdout)
		}
	})

	t.Run("submit --wait --format markdown", func(t *testing.T) {
		r := c.ok(t, "submit", hello, "--wait", "--format", "markdown")
		if !strings.Contains(r.stdout, "Hello Mesh") || strings.Contains(r.stdout, "job_") {
			t.Fatalf("stdout is not the Markdown result:\n%s", r.stdout)
		}
	})

	t.Run("several files print their results in order", func(t *testing.T) {
		r := c.ok(t, "submit", "--wait", twoPages, hello, "--format", "text")
		gen, hi := strings.Index(r.stdout, "Generated page 2"), strings.Index(r.stdout, "Hello Mesh")
		if gen < 0 || hi < 0 || gen > hi {
			t.Fatalf("results out of order or missing:\n%s", r.stdout)
		}
	})

	t.Run("submit --upload goes through tus", func(t *testing.T) {
		before := uploadsIn(t, s)
		// Small chunks with checksums: several PATCHes, each checked.
		r := c.ok(t, "submit", hello, "--upload", "--chunk-size", "1KiB", "--checksum", "--wait", "--format", "text")
		if !strings.Contains(r.stdout, "Hello Mesh") {
			t.Fatalf("stdout:\n%s", r.stdout)
		}
		if after := uploadsIn(t, s); after != before+1 {
			t.Fatalf("%d uploads stored before, %d after: the document did not go through tus", before, after)
		}
	})

	t.Run("a large file goes through tus by itself", func(t *testing.T) {
		before := uploadsIn(t, s)
		id := jobID(t, c.ok(t, "submit", hello, "--upload-threshold", "1KiB"))
		if after := uploadsIn(t, s); after != before+1 {
			t.Fatalf("%d uploads before, %d after", before, after)
		}
		if r := c.ok(t, "watch", id); !strings.Contains(r.stdout, id+" succeeded") {
			t.Fatalf("watch: %s", r.stdout)
		}
	})

	t.Run("submit, status, result", func(t *testing.T) {
		id := jobID(t, c.ok(t, "submit", hello, "--format", "json"))
		c.ok(t, "watch", id)
		if r := c.ok(t, "status", id); !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "succeeded") || !strings.Contains(r.stdout, "hello.pdf") {
			t.Fatalf("status: %s", r.stdout)
		}
		r := c.ok(t, "status", "--json", id)
		var j struct {
			JobID, Status string
		}
		if err := json.Unmarshal([]byte(r.stdout), &j); err != nil || j.Status != "succeeded" {
			t.Fatalf("status --json: %q %v", r.stdout, err)
		}
		out := filepath.Join(dir, "result.json")
		c.ok(t, "result", id, "-o", out)
		var doc map[string]any
		if err := json.Unmarshal(readFile(t, out), &doc); err != nil {
			t.Fatalf("the default format was not the job's json: %v", err)
		}
		if r := c.ok(t, "result", id, "--format", "markdown"); !strings.Contains(r.stdout, "Hello Mesh") {
			t.Fatalf("result --format markdown: %s", r.stdout)
		}
		if r := c.ok(t, "list", "--limit", "1"); !strings.Contains(r.stdout, id) || !strings.Contains(r.stderr, "--cursor") {
			t.Fatalf("list --limit 1: stdout %q, stderr %q", r.stdout, r.stderr)
		}
	})

	t.Run("API errors exit 3 with code, message and request id", func(t *testing.T) {
		tests := []struct {
			name string
			args []string
			want string
		}{
			{"unknown job", []string{"status", "job_00000000000000000000"}, "JOB_NOT_FOUND"},
			{"bad option", []string{"submit", hello, "--pages", "0-"}, "INVALID_REQUEST"},
			{"unknown key", []string{"--key", "dsk_d4unknown0000000000_secret", "list"}, "UNAUTHENTICATED"},
			{"not a document", []string{"submit", writeTemp(t, dir, "junk.bin", bytes.Repeat([]byte{0x00, 0xff}, 512))}, "UNSUPPORTED_MEDIA_TYPE"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := c.run(t, tt.args...)
				if r.code != 3 || !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, ", request req_") {
					t.Fatalf("exit %d, stderr %q; want 3 and %s with the request id", r.code, r.stderr, tt.want)
				}
			})
		}
	})

	t.Run("usage errors exit 2", func(t *testing.T) {
		if r := c.run(t, "submit", hello, "--format", "pdf"); r.code != 2 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
	})

	t.Run("watch shows progress and exits 0", func(t *testing.T) {
		// Enough pages that the job runs for a while even here (150 took
		// half a second), so its events show it between start and end.
		const pages = 800
		id := jobID(t, c.ok(t, "submit", writeTemp(t, dir, "long.pdf", makePDF(pages))))
		r := c.ok(t, "watch", id)
		if want := id + " succeeded (" + strconv.Itoa(pages) + "/" + strconv.Itoa(pages) + " pages)\n"; r.stdout != want {
			t.Fatalf("stdout %q, want %q", r.stdout, want)
		}
		// Standard error is a pipe here: plain lines, one per tenth.
		progress := regexp.MustCompile(`(?m)^` + id + ` running (\d+)/` + strconv.Itoa(pages) + ` pages$`)
		partial := 0
		for _, m := range progress.FindAllStringSubmatch(r.stderr, -1) {
			if n, _ := strconv.Atoi(m[1]); n > 0 && n < pages {
				partial++
			}
		}
		if partial == 0 || !strings.Contains(r.stderr, id+" succeeded") || strings.Contains(r.stderr, "\r") {
			t.Fatalf("no progress lines while the job ran:\n%s", r.stderr)
		}
		t.Logf("%d progress lines", partial)
	})
}

// TestCLICancel: a job that cannot run yet (no workers) is canceled by the
// CLI; watch then exits 1, and its result is refused with exit 3.
func TestCLICancel(t *testing.T) {
	bin := buildCLI(t)
	s := startStack(t, "DOCSTRANGE_WORKERS=-1")
	c := &cli{bin: bin, s: s}
	doc := writeTemp(t, t.TempDir(), "hello.pdf", readFile(t, helloPDF))
	id := jobID(t, c.ok(t, "submit", doc))
	if r := c.ok(t, "status", id); !strings.Contains(r.stdout, "queued") {
		t.Fatalf("status: %s", r.stdout)
	}
	if r := c.ok(t, "cancel", id); r.stdout != id+" canceled\n" {
		t.Fatalf("cancel printed %q", r.stdout)
	}
	if r := c.run(t, "watch", id); r.code != 1 || !strings.Contains(r.stdout, id+" canceled") {
		t.Fatalf("watch of a canceled job: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := c.run(t, "result", id); r.code != 3 || !strings.Contains(r.stderr, "JOB_NOT_FINISHED") {
		t.Fatalf("result of a canceled job: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := c.run(t, "cancel", id); r.code != 3 || !strings.Contains(r.stderr, "JOB_ALREADY_FINISHED") {
		t.Fatalf("a second cancel: exit %d, stderr %q", r.code, r.stderr)
	}
	// submit --wait on a job that gets canceled meanwhile exits 1.
	done := make(chan cliRun, 1)
	go func() { done <- c.run(t, "submit", doc, "--wait") }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var l struct {
			Jobs []struct {
				JobID string `json:"job_id"`
			} `json:"jobs"`
		}
		r := s.get("/api/v1/jobs?limit=1")
		r.json(t, &l)
		if len(l.Jobs) == 1 && l.Jobs[0].JobID != id {
			c.ok(t, "cancel", l.Jobs[0].JobID)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second submission never appeared")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := <-done; r.code != 1 || !strings.Contains(r.stderr, "canceled") || r.stdout != "" {
		t.Fatalf("submit --wait of a canceled job: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// uploadsIn counts the finished and unfinished tus uploads of the stack.
func uploadsIn(t *testing.T, s *stack) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(s.dataDir, "uploads", "*.info"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}
