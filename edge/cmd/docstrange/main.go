// Command docstrange is the command-line client of the DocStrange Mesh API,
// built on the Go SDK in edge/client:
//
//	docstrange submit report.pdf scan.png --wait --format markdown
//	docstrange submit big.pdf --upload          # resumable (tus)
//	docstrange status job_…
//	docstrange result job_… --format json -o report.json
//	docstrange watch job_…                      # progress bar until it ends
//	docstrange cancel job_…
//	docstrange list
//
// The edge is --url or DOCSTRANGE_URL (default http://127.0.0.1:8080), the
// API key --key or DOCSTRANGE_API_KEY (none: anonymous, free tier).
// `docstrange help` lists every flag and the exit statuses.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time:
//
//	go build -ldflags "-X 'main.version=v1.2.3 (commit abc1234)'" ./edge/cmd/docstrange
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	a := &app{
		stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin,
		getenv: os.Getenv, isTerminal: isTerminal, version: buildVersion(version),
	}
	code := a.run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
