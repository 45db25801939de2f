package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/docstrange/mesh/edge/client"
)

// Exit statuses; the usage text documents them.
const (
	exitOK          = 0
	exitJobFailed   = 1
	exitUsage       = 2
	exitAPI         = 3
	exitUnreachable = 4
	exitInterrupted = 130
)

// Environment variables the command reads.
const (
	envURL = "DOCSTRANGE_URL"
	envKey = "DOCSTRANGE_API_KEY"
)

// defaultURL is the edge of `make run`.
const defaultURL = "http://127.0.0.1:8080"

const usage = `docstrange: the DocStrange Mesh command-line client.

Usage:
  docstrange [--url URL] [--key KEY] COMMAND [ARGUMENTS] [FLAGS]

Commands:
  submit FILE|URL...  submit documents (- reads standard input); prints their job
                      ids, or with --wait their results, one after another
  status ID...        show jobs
  result ID           write a finished job's result to standard output or -o FILE
  watch ID            follow a job until it ends: a progress bar on a terminal,
                      plain lines otherwise; exits 1 if it failed or was canceled
  cancel ID...        cancel jobs
  list                list your jobs, newest first
  version             print the version (also --version)
  help [COMMAND]      show this, or a command's flags

Global flags, accepted before or after the command:
  --url URL   the edge (env DOCSTRANGE_URL; default http://127.0.0.1:8080)
  --key KEY   an API key, dsk_… (env DOCSTRANGE_API_KEY, which keeps it out of
              the process list; default: none, the anonymous free tier)

Exit status:
  0    success
  1    a job failed or was canceled (submit --wait, watch)
  2    usage error
  3    the API refused a request; its code, message and request id are printed
  4    the edge could not be reached, or a local file could not be read or written
  130  interrupted
`

// app is one run of the command, with its outside world.
type app struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	getenv         func(string) string
	// isTerminal reports whether w is an interactive terminal.
	isTerminal func(w io.Writer) bool
	version    string
}

// globals are the flags every command takes.
type globals struct {
	url, key string
}

// command is one subcommand: its flags are added to fs, and run gets the
// positional arguments.
type command struct {
	name    string
	summary string
	setup   func(fs *flag.FlagSet) func(ctx context.Context, c *client.Client, args []string) error
}

// usageError is a mistake on the command line.
type usageError struct{ msg string }

// Error is the mistake, for the user.
func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// jobFailedError is a job that ended other than succeeded.
type jobFailedError struct{ msg string }

// Error says which job ended how.
func (e *jobFailedError) Error() string { return e.msg }

func (a *app) commands() []command {
	return []command{
		{"submit", "FILE|URL... [--wait] [--format F] [--ocr M] [--pages P] [--upload]", a.submitCmd},
		{"status", "ID... [--json]", a.statusCmd},
		{"result", "ID [--format F] [-o FILE]", a.resultCmd},
		{"watch", "ID", a.watchCmd},
		{"cancel", "ID...", a.cancelCmd},
		{"list", "[--limit N] [--cursor C] [--all] [--json]", a.listCmd},
	}
}

// run executes the command line and returns the exit status.
func (a *app) run(ctx context.Context, args []string) int {
	g := globals{url: a.getenv(envURL), key: a.getenv(envKey)}
	if g.url == "" {
		g.url = defaultURL
	}
	top := flag.NewFlagSet("docstrange", flag.ContinueOnError)
	top.SetOutput(io.Discard)
	g.register(top)
	showVersion := top.Bool("version", false, "print the version")
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(a.stdout, usage)
			return exitOK
		}
		return a.fail(ctx, usagef("%v", err))
	}
	if *showVersion {
		fmt.Fprintf(a.stdout, "docstrange %s\n", a.version)
		return exitOK
	}
	rest := top.Args()
	if len(rest) == 0 {
		fmt.Fprint(a.stderr, usage)
		return exitUsage
	}
	name, rest := rest[0], rest[1:]
	switch name {
	case "version":
		fmt.Fprintf(a.stdout, "docstrange %s\n", a.version)
		return exitOK
	case "help":
		if len(rest) == 0 {
			fmt.Fprint(a.stdout, usage)
			return exitOK
		}
		name, rest = rest[0], []string{"--help"}
	}
	for _, cmd := range a.commands() {
		if cmd.name == name {
			return a.runCommand(ctx, cmd, g, rest)
		}
	}
	return a.fail(ctx, usagef("unknown command %q; see docstrange help", name))
}

func (a *app) runCommand(ctx context.Context, cmd command, g globals, args []string) int {
	fs := flag.NewFlagSet("docstrange "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	g.register(fs)
	exec := cmd.setup(fs)
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(a.stdout, "Usage: docstrange %s %s\n\nFlags:\n", cmd.name, cmd.summary)
		fs.SetOutput(a.stdout)
		fs.PrintDefaults()
		return exitOK
	}
	if err != nil {
		return a.fail(ctx, usagef("%s: %v", cmd.name, err))
	}
	c, err := client.New(g.url, client.WithAPIKey(g.key), client.WithUserAgent("docstrange-cli/"+a.version))
	if err != nil {
		return a.fail(ctx, usagef("--url: %v", err))
	}
	return a.fail(ctx, exec(ctx, c, pos))
}

func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.url, "url", g.url, "the edge's base URL (env "+envURL+")")
	fs.StringVar(&g.key, "key", g.key, "API key dsk_… (env "+envKey+")")
}

// fail prints err, if any, and returns the exit status it calls for.
func (a *app) fail(ctx context.Context, err error) int {
	if err == nil {
		return exitOK
	}
	code := exitCode(ctx, err)
	switch code {
	case exitInterrupted:
		fmt.Fprintln(a.stderr, "docstrange: interrupted")
	case exitUsage:
		fmt.Fprintf(a.stderr, "docstrange: %v\n", err)
		fmt.Fprintln(a.stderr, "Run 'docstrange help' for usage.")
	default:
		fmt.Fprintf(a.stderr, "docstrange: %s\n", describe(err))
	}
	return code
}

// exitCode maps an error to the documented exit statuses; with several
// errors joined (one per file), the most severe wins.
func exitCode(ctx context.Context, err error) int {
	var (
		usage  *usageError
		apiErr *client.Error
		failed *jobFailedError
	)
	switch {
	case err == nil:
		return exitOK
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return exitInterrupted
	case errors.As(err, &usage):
		return exitUsage
	}
	code := exitOK
	for _, e := range flatten(err) {
		c := exitUnreachable
		switch {
		case errors.As(e, &apiErr):
			c = exitAPI
		case errors.As(e, &failed):
			c = exitJobFailed
		}
		code = max(code, c)
	}
	return code
}

// flatten splits a joined error into its parts.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// describe renders an error for a person: an API error as its code,
// message, status, request id and details, which is what support asks for.
func describe(err error) string {
	parts := flatten(err)
	if len(parts) > 1 {
		lines := make([]string, len(parts))
		for i, e := range parts {
			lines[i] = describe(e)
		}
		return strings.Join(lines, "\ndocstrange: ")
	}
	var e *client.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	// The context in front of the API error ("submitting a.pdf: …"), if
	// any, without the *client.Error's own method and path.
	prefix, _, _ := strings.Cut(err.Error(), e.Error())
	msg := fmt.Sprintf("%s%s: %s (HTTP %d", prefix, e.Code(), e.API.Message, e.Status())
	if e.RequestID != "" {
		msg += ", request " + e.RequestID
	}
	msg += ")"
	if len(e.API.Details) > 0 {
		if b, jerr := json.Marshal(e.API.Details); jerr == nil {
			msg += "\n  details: " + string(b)
		}
	}
	if ra := e.RetryAfter(); ra > 0 {
		msg += fmt.Sprintf("\n  retry after %s", ra)
	}
	return msg
}

// buildVersion is v, or for a plain `go build` the VCS revision it
// recorded.
func buildVersion(v string) string {
	if v != "dev" {
		return v
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return v
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return fmt.Sprintf("%s (commit %s)", v, rev)
}
