#!/usr/bin/env bash
# Prints the path of the S3-compatible server that the tests start (see
# internal/s3test): versitygw, an Apache-2.0 S3 gateway that is run with its
# posix backend. On first use it builds the binary from the Go module proxy into
# a cache folder outside the repository, keyed by version, and after that it
# reuses the binary. It needs only Go and the module proxy, and it leaves the
# repository's go.mod alone.
#
#   scripts/s3-server.sh path    print the binary's path, building it if missing
#
# DOCSTRANGE_S3_BIN, when set, is printed as it is and nothing gets built.
# DOCSTRANGE_CACHE_DIR overrides the cache root, which defaults to
# ${XDG_CACHE_HOME:-$HOME/.cache}/docstrange.
# Build progress goes to stderr. Only the path goes to stdout.
set -euo pipefail

name=versitygw
module=github.com/versity/versitygw
version=v1.8.0
commit=fd04bc1df2656298577b82667a4195c77f8c7563 # the v1.8.0 tag, from the proxy's .info

if [ $# -ne 1 ] || [ "$1" != path ]; then
	echo "usage: $0 path" >&2
	exit 2
fi

if [ -n "${DOCSTRANGE_S3_BIN:-}" ]; then
	if [ ! -x "$DOCSTRANGE_S3_BIN" ]; then
		echo "s3-server.sh: DOCSTRANGE_S3_BIN=$DOCSTRANGE_S3_BIN is not an executable file" >&2
		exit 1
	fi
	echo "$DOCSTRANGE_S3_BIN"
	exit 0
fi

dir=${DOCSTRANGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/docstrange}/$name-${version#v}
bin=$dir/bin/$name
if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi

mkdir -p "$dir/bin"
# go test runs packages in parallel, so several of them may ask on a cold cache.
# One builds while the others wait on the lock and then reuse its binary.
if command -v flock >/dev/null 2>&1; then
	exec 9>"$dir/.lock"
	flock 9
fi

if [ ! -x "$bin" ]; then
	tmp=$(mktemp -d "$dir/.build.XXXXXX")
	beat=
	trap 'if [ -n "$beat" ]; then kill "$beat" 2>/dev/null || true; fi; rm -rf "$tmp"' EXIT
	echo "s3-server.sh: building $name $version into $dir/bin (only on first use; about 3.5 min on 2 cores with cold Go caches)" >&2
	(
		i=0
		while sleep 30; do
			i=$((i + 30))
			echo "s3-server.sh: still building $name $version (${i}s)" >&2
		done
	) &
	beat=$!
	start=$(date +%s)
	# Build from a neutral folder, so that no go.mod or go.work around the caller
	# takes part, and with our own flags in place of the caller's GOFLAGS.
	# CGO is off: versitygw's cgo parts (RDMA, GPU direct) are not in this command.
	(cd "$tmp" && GOWORK=off GOFLAGS=-trimpath CGO_ENABLED=0 GOBIN="$tmp/bin" \
		go install -ldflags "-s -w -X main.Version=$version -X main.Build=$commit" \
		"$module/cmd/$name@$version") >&2
	mv -f "$tmp/bin/$name" "$bin" # atomic: same filesystem
	echo "s3-server.sh: built $bin in $(($(date +%s) - start))s" >&2
fi
echo "$bin"
