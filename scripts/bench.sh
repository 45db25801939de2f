#!/usr/bin/env bash
# `make bench`: starts the already-built edge on a free port with a fresh
# data folder, waits until it is ready, runs docstrange-bench against it
# (baseline GET /api/v1/ping, then document submits, ratios against the
# baseline) and stops the edge. The edge and the bench share this machine,
# which the bench's output accounts for.
#
# Environment (all optional):
#   EDGE_BIN       edge binary             (bin/docstrange-edge)
#   BENCH_BIN      bench binary            (bin/docstrange-bench)
#   BENCH_FILE     document to submit      (scheduler/extract/testdata/hello.pdf)
#   CLIENTS        concurrent clients      (200)
#   DURATION       measured time per phase (20s)
#   WARMUP         unmeasured warmup       (2s)
#   DRAIN          wait for accepted jobs  (120s)
#   P99_TARGET     submit p99 that passes  (50ms)
#   BENCH_ARGS     more docstrange-bench flags, e.g. "-no-fail"
#   BENCH_RESULTS  where the JSON results are kept after the data folder
#                  is removed (bench-results.json in the current folder)
#   KEEP_DATA=1    keep the data folder (edge log, results) for inspection
# The exit status is the bench's: 0 PASS, 1 FAIL, 2 when it could not run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

EDGE_BIN=${EDGE_BIN:-bin/docstrange-edge}
BENCH_BIN=${BENCH_BIN:-bin/docstrange-bench}
BENCH_FILE=${BENCH_FILE:-scheduler/extract/testdata/hello.pdf}
CLIENTS=${CLIENTS:-200}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-2s}
DRAIN=${DRAIN:-120s}
P99_TARGET=${P99_TARGET:-50ms}
BENCH_ARGS=${BENCH_ARGS:-}
BENCH_RESULTS=${BENCH_RESULTS:-$PWD/bench-results.json}
KEEP_DATA=${KEEP_DATA:-0}

for f in "$EDGE_BIN" "$BENCH_BIN"; do
	if [ ! -x "$f" ]; then
		echo "bench: $f is missing or not executable; run make build (make bench builds both)" >&2
		exit 2
	fi
done
if [ ! -r "$BENCH_FILE" ]; then
	echo "bench: cannot read BENCH_FILE=$BENCH_FILE" >&2
	exit 2
fi

free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'
		return
	fi
	# Without python3: a random high port that nothing answers on.
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	echo "bench: found no free port" >&2
	return 1
}

ready() {
	if command -v curl >/dev/null 2>&1; then
		curl -fs -o /dev/null --max-time 2 "$1"
	else
		python3 -c 'import sys,urllib.request;urllib.request.urlopen(sys.argv[1],timeout=2)' "$1" 2>/dev/null
	fi
}

DATA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/docstrange-bench.XXXXXX")
EDGE_PID=
cleanup() {
	local rc=$?
	set +e
	if [ -n "$EDGE_PID" ] && kill -0 "$EDGE_PID" 2>/dev/null; then
		kill -TERM "$EDGE_PID" 2>/dev/null
		for _ in $(seq 1 100); do
			kill -0 "$EDGE_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$EDGE_PID" 2>/dev/null
		wait "$EDGE_PID" 2>/dev/null
	fi
	if [ -f "$DATA_DIR/bench-results.json" ]; then
		cp "$DATA_DIR/bench-results.json" "$BENCH_RESULTS" && echo "bench: results kept at $BENCH_RESULTS"
	fi
	if [ "$KEEP_DATA" = 1 ]; then
		echo "bench: data folder kept at $DATA_DIR (edge log: $DATA_DIR/edge.log)"
	else
		rm -rf "$DATA_DIR"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
echo "bench: starting $EDGE_BIN on $URL (data in $DATA_DIR)"
DOCSTRANGE_DATA_DIR=$DATA_DIR \
	DOCSTRANGE_HTTP_HOST=127.0.0.1 \
	DOCSTRANGE_HTTP_PORT=$PORT \
	DOCSTRANGE_HTTPS_PORT=$(free_port) \
	DOCSTRANGE_ADMIN_PORT=$(free_port) \
	DOCSTRANGE_BACKENDS_DIR= \
	"$EDGE_BIN" run --config edge/Caddyfile --adapter caddyfile >"$DATA_DIR/edge.log" 2>&1 &
EDGE_PID=$!

deadline=$((SECONDS + 60))
until ready "$URL/api/v1/health/ready"; do
	if ! kill -0 "$EDGE_PID" 2>/dev/null; then
		echo "bench: the edge exited before it was ready; last lines of its log:" >&2
		tail -n 40 "$DATA_DIR/edge.log" >&2
		exit 2
	fi
	if [ "$SECONDS" -ge "$deadline" ]; then
		echo "bench: the edge was not ready within 60s; last lines of its log:" >&2
		tail -n 40 "$DATA_DIR/edge.log" >&2
		exit 2
	fi
	sleep 0.2
done
echo "bench: edge ready"

RESULTS=$DATA_DIR/bench-results.json
rc=0
# shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
"$BENCH_BIN" -url "$URL" -file "$BENCH_FILE" \
	-clients "$CLIENTS" -duration "$DURATION" -warmup "$WARMUP" \
	-drain "$DRAIN" -p99-target "$P99_TARGET" \
	-json "$RESULTS" $BENCH_ARGS || rc=$?
if [ -f "$RESULTS" ]; then
	echo "bench: results written to $RESULTS"
fi
if ! kill -0 "$EDGE_PID" 2>/dev/null; then
	echo "bench: the edge died during the run; last lines of its log:" >&2
	tail -n 40 "$DATA_DIR/edge.log" >&2
	[ "$rc" -ne 0 ] || rc=1
fi
exit "$rc"
