// Command docstrange-bench is an HTTP load generator for the DocStrange
// Mesh API. One invocation runs its phases against the same edge and
// compares each with a baseline on Caddy's static GET /api/v1/ping route,
// measured in the same run under the same load, so that the numbers mean
// something on any machine: first the auth chain (GET /api/v1/me behind
// request id, authn, authz and the rate limit) at -chain-clients, saturated
// (closed loop: throughput ratio) and at a fixed rate below saturation
// (open loop: added latency, the verdict), then document submits (POST
// /api/v1/documents) as ratios at -clients, closed loop. After the submits
// it follows every accepted job until it is terminal or -drain expires.
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
