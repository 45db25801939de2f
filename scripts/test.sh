#!/usr/bin/env bash
# Runs every test with coverage, including the edge processes the e2e tests
# start, and prints one coverage line per package from all runs merged.
set -euo pipefail
cd "$(dirname "$0")/.."

mod=github.com/docstrange/mesh/...
cover=$(mktemp -d)
trap 'rm -rf "$cover"' EXIT

# The e2e tests run this instrumented edge; its counters land in $cover too.
go build -cover -coverpkg="$mod" -o bin/docstrange-edge-cover ./edge/cmd/docstrange-edge
# The same for the OCR backend, which the edge's host starts as a plugin.
go build -cover -coverpkg="$mod" -o bin/docstrange-onnx-cover ./backends/onnx/cmd/docstrange-onnx

DOCSTRANGE_EDGE_BIN="$PWD/bin/docstrange-edge-cover" DOCSTRANGE_ONNX_BIN="$PWD/bin/docstrange-onnx-cover" \
	DOCSTRANGE_E2E_COVERDIR="$cover" \
	go test -count=1 -timeout 20m -cover -coverpkg="$mod" ./... -args -test.gocoverdir="$cover"

echo
echo "coverage per package (unit, integration and e2e runs merged):"
go tool covdata percent -i="$cover" | grep -oE 'github\.com/[^[:space:]]+[[:space:]]+coverage: [0-9.]+% of statements' |
	awk '{printf "  %-55s %s\n", $1, $3}' | sort
go tool covdata textfmt -i="$cover" -o "$cover/profile.txt"
go tool cover -func="$cover/profile.txt" | tail -1 | sed 's/^/  /'
