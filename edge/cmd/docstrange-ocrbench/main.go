// Command docstrange-ocrbench measures the ONNX OCR engine against the
// Tesseract 5 CLI on generated A4 pages whose text is known: pages per
// second and character error rate, at each thread count, with the engine
// called in process and through the real backend plugin, so that the
// plugin boundary's cost is measured in the same invocation.
//
//	docstrange-ocrbench -pages 6 -threads 1,2 -json ocr-bench-results.json
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
