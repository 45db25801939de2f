#!/usr/bin/env bash
# OCR speed and accuracy: the ONNX engine in process and through its plugin
# against the Tesseract 5 CLI, on generated A4 pages of known text, at one
# and two threads (see `bin/docstrange-ocrbench -help`). It fetches the
# models when missing (./scripts/models.sh), installs Tesseract with
# apt-get when missing, and builds nothing: `make bench` builds the
# backend and the bench first.
#
# Environment (all optional):
#   OCRBENCH_BIN      bench binary                     (bin/docstrange-ocrbench)
#   BACKENDS_DIR      folder holding the onnx backend  (bin/backends)
#   OCRBENCH_ARGS     more flags, e.g. "-quick" or "-no-fail"
#   OCRBENCH_RESULTS  JSON results                     (ocr-bench-results.json at the repository root)
# The exit status is the bench's: 0 PASS, 1 FAIL, 2 when it could not run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

OCRBENCH_BIN=${OCRBENCH_BIN:-bin/docstrange-ocrbench}
BACKENDS_DIR=${BACKENDS_DIR:-bin/backends}
OCRBENCH_ARGS=${OCRBENCH_ARGS:-}
OCRBENCH_RESULTS=${OCRBENCH_RESULTS:-$PWD/ocr-bench-results.json}
export DOCSTRANGE_MODELS_DIR=${DOCSTRANGE_MODELS_DIR:-$PWD/.cache/models}

for f in "$OCRBENCH_BIN" "$BACKENDS_DIR/onnx"; do
	if [ ! -x "$f" ]; then
		echo "ocrbench: $f is missing or not executable; run make build (make bench builds both)" >&2
		exit 2
	fi
done

./scripts/models.sh

langs=""
if command -v tesseract >/dev/null 2>&1; then
	langs=$(tesseract --list-langs 2>/dev/null || true)
fi
if ! grep -qx eng <<<"$langs"; then
	echo "ocrbench: installing tesseract-ocr and tesseract-ocr-eng with apt-get" >&2
	sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		sudo=(sudo)
	fi
	"${sudo[@]}" apt-get update -q
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends tesseract-ocr tesseract-ocr-eng
fi

# shellcheck disable=SC2086 # OCRBENCH_ARGS is a list of flags
exec "$OCRBENCH_BIN" -backends-dir "$BACKENDS_DIR" -json "$OCRBENCH_RESULTS" $OCRBENCH_ARGS
