// Command docstrange-bench is a closed-loop HTTP load generator for the
// DocStrange Mesh API. One invocation runs its phases against the same edge
// and compares each with a baseline on Caddy's static GET /api/v1/ping
// route, measured in the same run at the same concurrency, so that the
// numbers mean something on any machine: first the auth chain (GET
// /api/v1/me behind request id, authn, authz and the rate limit) as added
// latency and a throughput ratio at -chain-clients, then document submits
// (POST /api/v1/documents) as ratios at -clients. After the submits it
// follows every accepted job until it is terminal or -drain expires.
//
//	docstrange-bench -url http://127.0.0.1:8080 -file hello.pdf -clients 200 -duration 20s \
//		-header "Authorization: Bearer dsk_…"
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
