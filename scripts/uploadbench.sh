#!/usr/bin/env bash
# `make bench`, third part: resumable uploads through the edge against the
# stock tusd binary, in one run on this machine. It starts the already-built
# edge on free ports with a fresh data folder (its tus handler writes to
# that folder's uploads/ through tusd's filestore) and the stock tusd
# v2.9.1, with the same filestore, on a free port of its own, issues an
# enterprise API key (the free tier stops at 10 MiB) and runs
# docstrange-uploadbench: each server receives UPLOAD_SIZE in UPLOAD_CHUNK
# PATCHes, UPLOAD_WARMUP times untimed and then UPLOAD_RUNS times timed in
# alternating order, while the bench samples both servers' RSS, and every
# stored file is checked byte for byte. It passes when the edge's median
# MB/s is at least MIN_RATIO of tusd's and the edge's RSS grows by less
# than MAX_RSS_GROWTH during any upload. It stops both servers on every
# exit.
#
# Stock tusd is built on first use with `go install` from the module proxy
# into a cache folder outside the repository, keyed by version, and reused
# after that; our go.mod takes no part. The bench itself is built into bin/
# on every run (Go's build cache makes that quick).
#
# Environment (all optional):
#   EDGE_BIN            edge binary                  (bin/docstrange-edge)
#   UPLOADBENCH_BIN     bench binary; unset: built into bin/docstrange-uploadbench
#   TUSD_BIN            stock tusd binary; unset: built into the cache
#   DOCSTRANGE_CACHE_DIR  cache root (${XDG_CACHE_HOME:-$HOME/.cache}/docstrange)
#   UPLOAD_SIZE         bytes per upload             (1GiB, the edge's largest)
#   UPLOAD_CHUNK        bytes per PATCH              (8MiB)
#   UPLOAD_WARMUP       untimed uploads per server   (1)
#   UPLOAD_RUNS         timed uploads per server     (7: a 1 GiB upload lands in
#                       the page cache in about a second, and single uploads
#                       vary by 15% or more on a busy 2-core machine, so two
#                       are too few for a median to decide a 90% threshold)
#   MIN_RATIO           edge/tusd MB/s that passes   (0.9)
#   MAX_RSS_GROWTH      edge RSS growth that fails   (100MiB)
#   UPLOADBENCH_ARGS    more docstrange-uploadbench flags, e.g. "-no-fail"
#   UPLOADBENCH_RESULTS where the JSON results are kept after the work
#                       folder is removed (upload-bench-results.json in the
#                       current folder)
#   KEEP_DATA=1         keep the work folder (edge and tusd logs) for
#                       inspection; the uploads themselves are deleted
#                       after each one is checked
# The work folder is made under TMPDIR (/tmp), which needs UPLOAD_SIZE plus
# 512 MiB free: one upload is on disk at a time.
# The exit status is the bench's: 0 PASS, 1 FAIL, 2 when it could not run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

EDGE_BIN=${EDGE_BIN:-bin/docstrange-edge}
UPLOADBENCH_BIN=${UPLOADBENCH_BIN:-}
TUSD_BIN=${TUSD_BIN:-}
UPLOAD_SIZE=${UPLOAD_SIZE:-1GiB}
UPLOAD_CHUNK=${UPLOAD_CHUNK:-8MiB}
UPLOAD_WARMUP=${UPLOAD_WARMUP:-1}
UPLOAD_RUNS=${UPLOAD_RUNS:-7}
MIN_RATIO=${MIN_RATIO:-0.9}
MAX_RSS_GROWTH=${MAX_RSS_GROWTH:-100MiB}
UPLOADBENCH_ARGS=${UPLOADBENCH_ARGS:-}
UPLOADBENCH_RESULTS=${UPLOADBENCH_RESULTS:-$PWD/upload-bench-results.json}
KEEP_DATA=${KEEP_DATA:-0}

tusd_module=github.com/tus/tusd/v2
tusd_version=v2.9.1

if [ ! -x "$EDGE_BIN" ]; then
	echo "uploadbench: $EDGE_BIN is missing or not executable; run make build (make bench builds it)" >&2
	exit 2
fi
for cmd in go python3; do
	if ! command -v "$cmd" >/dev/null 2>&1; then
		echo "uploadbench: $cmd is needed (building the bench and tusd; free ports, the API key)" >&2
		exit 2
	fi
done

free_port() {
	python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'
}

ready() {
	if command -v curl >/dev/null 2>&1; then
		curl -fs -o /dev/null --max-time 2 "$1"
	else
		python3 -c 'import sys,urllib.request;urllib.request.urlopen(sys.argv[1],timeout=2)' "$1" 2>/dev/null
	fi
}

# random_hex N prints N random bytes as hex.
random_hex() {
	python3 -c 'import secrets,sys;print(secrets.token_hex(int(sys.argv[1])))' "$1"
}

# stop_pid PID stops a process this script started: TERM, then KILL after
# 10s.
stop_pid() {
	local pid=$1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# bytes_of SIZE prints SIZE (1GiB, 8MiB, 1073741824) in bytes.
bytes_of() {
	python3 - "$1" <<'PY'
import re, sys
m = re.fullmatch(r"\s*(\d+)\s*([KMGT]i?B|B)?\s*", sys.argv[1], re.I)
if not m:
    sys.exit("uploadbench: cannot read the size %r" % sys.argv[1])
units = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
         "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
print(int(m.group(1)) * units[(m.group(2) or "b").lower()])
PY
}

# tusd_path prints the stock tusd binary, building it into the cache on
# first use, as scripts/s3-server.sh does for versitygw.
tusd_path() {
	if [ -n "$TUSD_BIN" ]; then
		if [ ! -x "$TUSD_BIN" ]; then
			echo "uploadbench: TUSD_BIN=$TUSD_BIN is not an executable file" >&2
			return 1
		fi
		echo "$TUSD_BIN"
		return 0
	fi
	local dir bin tmp start
	dir=${DOCSTRANGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/docstrange}/tusd-${tusd_version#v}
	bin=$dir/bin/tusd
	if [ -x "$bin" ]; then
		echo "$bin"
		return 0
	fi
	mkdir -p "$dir/bin"
	(
		# Two benches on a cold cache: one builds while the other waits on
		# the lock and then reuses its binary.
		if command -v flock >/dev/null 2>&1; then
			exec 9>"$dir/.lock"
			flock 9
		fi
		[ -x "$bin" ] && exit 0
		tmp=$(mktemp -d "$dir/.build.XXXXXX")
		trap 'rm -rf "$tmp"' EXIT
		echo "uploadbench: building stock tusd $tusd_version into $dir/bin (only on first use)" >&2
		start=$(date +%s)
		# From a neutral folder, so that no go.mod or go.work around the
		# caller takes part, and with our own flags in place of the caller's
		# GOFLAGS. The version variables are the ones tusd's releases set.
		(cd "$tmp" && GOWORK=off GOFLAGS=-trimpath CGO_ENABLED=0 GOBIN="$tmp/bin" \
			go install -ldflags "-s -w -X $tusd_module/cmd/tusd/cli.VersionName=$tusd_version" \
			"$tusd_module/cmd/tusd@$tusd_version") >&2
		mv -f "$tmp/bin/tusd" "$bin" # atomic: same filesystem
		echo "uploadbench: built $bin in $(($(date +%s) - start))s" >&2
	) || return 1
	echo "$bin"
}

size_bytes=$(bytes_of "$UPLOAD_SIZE") || exit 2

TUSD=$(tusd_path) || {
	echo "uploadbench: could not build stock tusd $tusd_version (set TUSD_BIN to use one)" >&2
	exit 2
}
if [ -z "$UPLOADBENCH_BIN" ]; then
	UPLOADBENCH_BIN=bin/docstrange-uploadbench
	go build -o "$UPLOADBENCH_BIN" ./edge/cmd/docstrange-uploadbench || {
		echo "uploadbench: could not build ./edge/cmd/docstrange-uploadbench" >&2
		exit 2
	}
elif [ ! -x "$UPLOADBENCH_BIN" ]; then
	echo "uploadbench: UPLOADBENCH_BIN=$UPLOADBENCH_BIN is not an executable file" >&2
	exit 2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/docstrange-uploadbench.XXXXXX")
DATA_DIR=$WORK/edge
TUSD_DIR=$WORK/tusd-uploads
mkdir -p "$DATA_DIR" "$TUSD_DIR"
EDGE_PID=
TUSD_PID=
cleanup() {
	local rc=$?
	set +e
	stop_pid "$EDGE_PID"
	stop_pid "$TUSD_PID"
	if [ -f "$WORK/upload-bench-results.json" ]; then
		cp "$WORK/upload-bench-results.json" "$UPLOADBENCH_RESULTS" && echo "uploadbench: results kept at $UPLOADBENCH_RESULTS"
	fi
	if [ "$KEEP_DATA" = 1 ]; then
		# The uploads are gigabytes: only the logs and small files stay.
		rm -rf "$DATA_DIR/uploads" "$DATA_DIR/uploads-tmp" "$TUSD_DIR"
		echo "uploadbench: work folder kept at $WORK (edge log: $WORK/edge.log, tusd log: $WORK/tusd.log)"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# One upload is on disk at a time (the bench deletes each after checking
# it), plus the edge's small files and logs.
avail_kib=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
need_kib=$((size_bytes / 1024 + 512 * 1024))
if [ "$avail_kib" -lt "$need_kib" ]; then
	echo "uploadbench: $WORK has $((avail_kib / 1024)) MiB free, the bench needs $((need_kib / 1024)) MiB (set TMPDIR elsewhere or a smaller UPLOAD_SIZE)" >&2
	exit 2
fi

TUSD_PORT=$(free_port)
TUSD_URL="http://127.0.0.1:$TUSD_PORT/files/"
echo "uploadbench: starting $TUSD ($tusd_version, filestore in $TUSD_DIR) on $TUSD_URL"
"$TUSD" -upload-dir "$TUSD_DIR" -base-path /files/ -host 127.0.0.1 -port "$TUSD_PORT" \
	>"$WORK/tusd.log" 2>&1 &
TUSD_PID=$!

PORT=$(free_port)
ADMIN_PORT=$(free_port)
ADMIN_TOKEN=$(random_hex 32)
URL="http://127.0.0.1:$PORT"
ADMIN_URL="http://127.0.0.1:$ADMIN_PORT"
echo "uploadbench: starting $EDGE_BIN on $URL (data in $DATA_DIR)"
DOCSTRANGE_DATA_DIR=$DATA_DIR \
	DOCSTRANGE_HTTP_HOST=127.0.0.1 \
	DOCSTRANGE_HTTP_PORT=$PORT \
	DOCSTRANGE_HTTPS_PORT=$(free_port) \
	DOCSTRANGE_ADMIN_HOST=127.0.0.1 \
	DOCSTRANGE_ADMIN_PORT=$ADMIN_PORT \
	DOCSTRANGE_ADMIN_TOKEN=$ADMIN_TOKEN \
	DOCSTRANGE_BACKENDS_DIR= \
	DOCSTRANGE_WORKERS=-1 \
	"$EDGE_BIN" run --config edge/Caddyfile --adapter caddyfile >"$WORK/edge.log" 2>&1 &
EDGE_PID=$!

deadline=$((SECONDS + 60))
until (exec 3<>"/dev/tcp/127.0.0.1/$TUSD_PORT") 2>/dev/null; do
	if ! kill -0 "$TUSD_PID" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
		echo "uploadbench: tusd did not start; last lines of its log:" >&2
		tail -n 20 "$WORK/tusd.log" >&2
		exit 2
	fi
	sleep 0.1
done
echo "uploadbench: tusd ready"
until ready "$URL/api/v1/health/ready"; do
	if ! kill -0 "$EDGE_PID" 2>/dev/null; then
		echo "uploadbench: the edge exited before it was ready; last lines of its log:" >&2
		tail -n 40 "$WORK/edge.log" >&2
		exit 2
	fi
	if [ "$SECONDS" -ge "$deadline" ]; then
		echo "uploadbench: the edge was not ready within 60s; last lines of its log:" >&2
		tail -n 40 "$WORK/edge.log" >&2
		exit 2
	fi
	sleep 0.2
done
echo "uploadbench: edge ready"

# An enterprise key: its tier allows 1 GiB files and 1200 requests a
# minute, far above one PATCH per chunk. It lives only in this run's data
# folder.
API_KEY=$(python3 - "$ADMIN_URL/admin/v1/keys" "$ADMIN_TOKEN" <<'PY'
import json, sys, urllib.error, urllib.request
req = urllib.request.Request(
    sys.argv[1],
    data=json.dumps({"tenant": "bench", "tier": "enterprise", "name": "make bench uploads"}).encode(),
    headers={"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"},
    method="POST",
)
try:
    with urllib.request.urlopen(req, timeout=10) as resp:
        print(json.load(resp)["key"])
except urllib.error.HTTPError as e:
    sys.exit("uploadbench: issuing the API key: HTTP %d: %s" % (e.code, e.read().decode(errors="replace")[:500]))
except Exception as e:
    sys.exit("uploadbench: issuing the API key: %s" % e)
PY
) || exit 2
echo "uploadbench: enterprise API key issued"

RESULTS=$WORK/upload-bench-results.json
rc=0
# shellcheck disable=SC2086 # UPLOADBENCH_ARGS is a list of flags
"$UPLOADBENCH_BIN" -edge "$URL/api/v1/uploads/" -tusd "$TUSD_URL" \
	-key "$API_KEY" -edge-pid "$EDGE_PID" -tusd-pid "$TUSD_PID" \
	-edge-dir "$DATA_DIR/uploads" -tusd-dir "$TUSD_DIR" \
	-size "$UPLOAD_SIZE" -chunk "$UPLOAD_CHUNK" -warmup "$UPLOAD_WARMUP" -runs "$UPLOAD_RUNS" \
	-min-ratio "$MIN_RATIO" -max-rss-growth "$MAX_RSS_GROWTH" \
	-json "$RESULTS" $UPLOADBENCH_ARGS || rc=$?
if ! kill -0 "$EDGE_PID" 2>/dev/null; then
	# A crash is the edge's failure, whatever the bench made of it.
	echo "uploadbench: the edge died during the run; last lines of its log:" >&2
	tail -n 40 "$WORK/edge.log" >&2
	rc=1
fi
if ! kill -0 "$TUSD_PID" 2>/dev/null; then
	echo "uploadbench: tusd died during the run; last lines of its log:" >&2
	tail -n 20 "$WORK/tusd.log" >&2
	[ "$rc" -ne 0 ] || rc=2
fi
exit "$rc"
