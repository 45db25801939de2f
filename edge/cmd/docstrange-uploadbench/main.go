// Command docstrange-uploadbench measures resumable (tus 1.0.0) uploads
// through the DocStrange Mesh edge against the stock tusd binary with the
// same filestore, both on this machine and in the same invocation, so the
// ratio means something on any machine. Each server receives -size bytes in
// sequential -chunk PATCHes, -runs times, in alternating order. The bytes
// come from a seeded generator, never held whole in memory, and each stored
// file is hashed against them afterwards. While a server receives its
// upload the bench samples its RSS every 100 ms.
//
//	docstrange-uploadbench -edge http://127.0.0.1:8080/api/v1/uploads/ -key dsk_… \
//		-edge-pid 1234 -edge-dir .data/uploads \
//		-tusd http://127.0.0.1:1080/files/ -tusd-pid 1235 -tusd-dir /tmp/tusd
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
