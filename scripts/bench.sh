#!/usr/bin/env bash
# `make bench`: starts a private redis-server and the already-built edge on
# free ports with a fresh data folder, the edge's rate limits, quotas and
# keys on that Redis. Once the edge is ready it issues an enterprise API key
# (the tier's request rate raised far beyond what the load can reach, so the
# load measures the allowed path, not 429s) and runs docstrange-bench with
# it: the bare GET /api/v1/ping against the full chain (request id, authn,
# authz, rate limit on Redis) on GET /api/v1/me from CHAIN_CLIENTS, first
# saturated (closed loop, reported) and then at a fixed rate of
# CHAIN_RATE_FRACTION of the saturated ping throughput (open loop, the
# chain's verdict), the two routes taking CHAIN_ROUNDS turns each; then
# GET /api/v1/ping and document submits at CLIENTS, each compared with its
# same-concurrency baseline. It stops the edge and Redis on every exit. The
# edge, Redis and the bench share this machine, which the bench's output
# accounts for.
#
# Environment (all optional):
#   EDGE_BIN       edge binary             (bin/docstrange-edge)
#   BENCH_BIN      bench binary            (bin/docstrange-bench)
#   BENCH_FILE     document to submit      (scheduler/extract/testdata/hello.pdf)
#   CLIENTS        concurrent clients      (200)
#   CHAIN_CLIENTS  concurrent clients of the chain comparison (100)
#   CHAIN_RATE_FRACTION  the chain's fixed rate, as a share of the saturated
#                  ping throughput (0.5)
#   CHAIN_ROUNDS   turns the chain and its baseline take (4)
#   DURATION       measured time per phase (20s)
#   WARMUP         unmeasured warmup       (2s)
#   DRAIN          wait for accepted jobs  (120s)
#   P99_TARGET     submit p99 that passes  (50ms)
#   REDIS_BIN      redis-server binary     (redis-server; make test-deps installs it)
#   BENCH_ARGS     more docstrange-bench flags, e.g. "-no-fail"
#   BENCH_RESULTS  where the JSON results are kept after the data folder
#                  is removed (bench-results.json in the current folder)
#   KEEP_DATA=1    keep the data folder (edge log, results) for inspection
#   SERVER_CPUS    CPUs (a taskset list, e.g. 0-2) the edge and Redis run on
#   CLIENT_CPUS    CPUs the bench client runs on; with SERVER_CPUS, the load
#                  generator no longer takes its CPU time from the edge
# The exit status is the bench's: 0 PASS, 1 FAIL, 2 when it could not run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

EDGE_BIN=${EDGE_BIN:-bin/docstrange-edge}
BENCH_BIN=${BENCH_BIN:-bin/docstrange-bench}
BENCH_FILE=${BENCH_FILE:-scheduler/extract/testdata/hello.pdf}
CLIENTS=${CLIENTS:-200}
CHAIN_CLIENTS=${CHAIN_CLIENTS:-100}
CHAIN_RATE_FRACTION=${CHAIN_RATE_FRACTION:-0.5}
CHAIN_ROUNDS=${CHAIN_ROUNDS:-4}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-2s}
DRAIN=${DRAIN:-120s}
P99_TARGET=${P99_TARGET:-50ms}
REDIS_BIN=${REDIS_BIN:-redis-server}
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
if ! command -v "$REDIS_BIN" >/dev/null 2>&1; then
	echo "bench: $REDIS_BIN not found; make test-deps installs redis-server (or set REDIS_BIN)" >&2
	exit 2
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "bench: python3 is needed (free ports, the tier file, the API key)" >&2
	exit 2
fi

# pin CPUS CMD... runs CMD on the CPUs CPUS lists (taskset), or anywhere
# when CPUS is empty. It execs, so that a background pin's $! is CMD's pid.
pin() {
	local cpus=$1
	shift
	if [ -n "$cpus" ]; then
		exec taskset -c "$cpus" "$@"
	fi
	exec "$@"
}

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

DATA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/docstrange-bench.XXXXXX")
EDGE_PID=
REDIS_PID=
cleanup() {
	local rc=$?
	set +e
	# The edge first: it still talks to Redis while it shuts down.
	stop_pid "$EDGE_PID"
	stop_pid "$REDIS_PID"
	if [ -f "$DATA_DIR/bench-results.json" ]; then
		cp "$DATA_DIR/bench-results.json" "$BENCH_RESULTS" && echo "bench: results kept at $BENCH_RESULTS"
	fi
	if [ "$KEEP_DATA" = 1 ]; then
		echo "bench: data folder kept at $DATA_DIR (edge log: $DATA_DIR/edge.log, redis log: $DATA_DIR/redis.log)"
	else
		rm -rf "$DATA_DIR"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A private Redis: no persistence, on loopback only, its files in the data
# folder.
REDIS_PORT=$(free_port)
mkdir -p "$DATA_DIR/redis"
echo "bench: starting $REDIS_BIN on 127.0.0.1:$REDIS_PORT"
pin "${SERVER_CPUS:-}" "$REDIS_BIN" --save "" --appendonly no --bind 127.0.0.1 --port "$REDIS_PORT" \
	--dir "$DATA_DIR/redis" >"$DATA_DIR/redis.log" 2>&1 &
REDIS_PID=$!
deadline=$((SECONDS + 10))
until (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null; do
	if ! kill -0 "$REDIS_PID" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
		echo "bench: redis-server did not start; last lines of its log:" >&2
		tail -n 20 "$DATA_DIR/redis.log" >&2
		exit 2
	fi
	sleep 0.1
done

# The shipped tiers with the enterprise request rate raised out of reach:
# the bench measures the chain's allowed path, and a 429 means the setup is
# wrong.
mkdir -p "$DATA_DIR/policy"
TIERS_FILE=$DATA_DIR/policy/tiers.json
python3 - policy/data/tiers.json "$TIERS_FILE" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    tiers = json.load(f)
tiers["enterprise"]["rate"]["requests"] = 1000000000
with open(sys.argv[2], "w") as f:
    json.dump(tiers, f, indent=2)
PY

PORT=$(free_port)
ADMIN_PORT=$(free_port)
ADMIN_TOKEN=$(random_hex 32)
URL="http://127.0.0.1:$PORT"
ADMIN_URL="http://127.0.0.1:$ADMIN_PORT"
echo "bench: starting $EDGE_BIN on $URL (data in $DATA_DIR)"
DOCSTRANGE_DATA_DIR=$DATA_DIR \
	DOCSTRANGE_HTTP_HOST=127.0.0.1 \
	DOCSTRANGE_HTTP_PORT=$PORT \
	DOCSTRANGE_HTTPS_PORT=$(free_port) \
	DOCSTRANGE_ADMIN_HOST=127.0.0.1 \
	DOCSTRANGE_ADMIN_PORT=$ADMIN_PORT \
	DOCSTRANGE_ADMIN_TOKEN=$ADMIN_TOKEN \
	DOCSTRANGE_BACKENDS_DIR= \
	DOCSTRANGE_STORE=redis \
	DOCSTRANGE_REDIS_ADDR=127.0.0.1:$REDIS_PORT \
	DOCSTRANGE_REDIS_PREFIX="bench-$(random_hex 4):" \
	DOCSTRANGE_KEY_PEPPER=$(random_hex 32) \
	DOCSTRANGE_TIERS_FILE=$TIERS_FILE \
	pin "${SERVER_CPUS:-}" "$EDGE_BIN" run --config edge/Caddyfile --adapter caddyfile >"$DATA_DIR/edge.log" 2>&1 &
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

# One enterprise key for every request of the run, submits and status polls
# included (they pass the same chain). The key lives only in this run's
# Redis, which goes away with it.
API_KEY=$(python3 - "$ADMIN_URL/admin/v1/keys" "$ADMIN_TOKEN" <<'PY'
import json, sys, urllib.error, urllib.request
req = urllib.request.Request(
    sys.argv[1],
    data=json.dumps({"tenant": "bench", "tier": "enterprise", "name": "make bench"}).encode(),
    headers={"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"},
    method="POST",
)
try:
    with urllib.request.urlopen(req, timeout=10) as resp:
        print(json.load(resp)["key"])
except urllib.error.HTTPError as e:
    sys.exit("bench: issuing the API key: HTTP %d: %s" % (e.code, e.read().decode(errors="replace")[:500]))
except Exception as e:
    sys.exit("bench: issuing the API key: %s" % e)
PY
) || exit 2
echo "bench: enterprise API key issued"

RESULTS=$DATA_DIR/bench-results.json
rc=0
# shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
(pin "${CLIENT_CPUS:-}" "$BENCH_BIN" -url "$URL" -file "$BENCH_FILE" \
	-clients "$CLIENTS" -chain-clients "$CHAIN_CLIENTS" \
	-chain-rate-fraction "$CHAIN_RATE_FRACTION" -chain-rounds "$CHAIN_ROUNDS" \
	-duration "$DURATION" -warmup "$WARMUP" \
	-drain "$DRAIN" -p99-target "$P99_TARGET" \
	-header "Authorization: Bearer $API_KEY" \
	-json "$RESULTS" $BENCH_ARGS) || rc=$?
if [ -f "$RESULTS" ]; then
	echo "bench: results written to $RESULTS"
fi
if ! kill -0 "$EDGE_PID" 2>/dev/null; then
	echo "bench: the edge died during the run; last lines of its log:" >&2
	tail -n 40 "$DATA_DIR/edge.log" >&2
	[ "$rc" -ne 0 ] || rc=1
fi
if ! kill -0 "$REDIS_PID" 2>/dev/null; then
	echo "bench: redis-server died during the run; last lines of its log:" >&2
	tail -n 20 "$DATA_DIR/redis.log" >&2
	[ "$rc" -ne 0 ] || rc=1
fi
exit "$rc"
