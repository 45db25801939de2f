// Command docstrange-bench is a closed-loop HTTP load generator for the
// DocStrange Mesh API. One invocation runs two phases against the same edge:
// a baseline on Caddy's static GET /api/v1/ping route, then document submits
// (POST /api/v1/documents), and reports the submit phase as ratios against
// the baseline, so that the number means something on any machine. After the
// submits it follows every accepted job until it is terminal or -drain
// expires.
//
//	docstrange-bench -url http://127.0.0.1:8080 -file hello.pdf -clients 200 -duration 20s
//
// It exits 0 on PASS, 1 on FAIL (unless -no-fail) and 2 when it cannot run.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
