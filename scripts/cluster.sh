#!/usr/bin/env bash
# A local dev cluster: one Consul dev agent, one Nomad dev agent (server and
# client, node class "cpu") and a second Nomad client (node class "gpu")
# with its own Consul client agent, as every Nomad client has in
# production, whose stand-in GPU is Nomad's example device plugin
# (nomad/file/mock), all on loopback ports, with state under one folder. Agents are stopped by
# the PIDs this script recorded, never by name.
#
#   scripts/cluster.sh up       start the agents and wait for their leaders
#   scripts/cluster.sh down     stop the Nomad jobs, then the agents
#   scripts/cluster.sh status   show members and nodes
#   scripts/cluster.sh env      print CONSUL_HTTP_ADDR, NOMAD_ADDR and the binaries
#
# Environment (all optional):
#   DOCSTRANGE_CLUSTER_DIR  state, configs, logs and PID files (.data/cluster)
#   CLUSTER_PORT_BASE       first of the 15 consecutive ports used (18300)
#   NOMAD_BIN, CONSUL_BIN, NOMAD_DEVICE_PLUGIN  binaries (built by scripts/hashistack.sh)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
dir=${DOCSTRANGE_CLUSTER_DIR:-$root/.data/cluster}
base=${CLUSTER_PORT_BASE:-18300}

# Ports, all derived from one base so two clusters can run side by side.
consul_server=$base consul_serf_lan=$((base + 1)) consul_serf_wan=$((base + 2))
consul_http=$((base + 3)) consul_dns=$((base + 4)) consul_grpc=$((base + 5))
nomad_http=$((base + 6)) nomad_rpc=$((base + 7)) nomad_serf=$((base + 8))
gpu_http=$((base + 9)) gpu_rpc=$((base + 10)) gpu_serf=$((base + 11))
# gpu-1's own Consul client agent: Nomad's service sync removes from its
# agent every Nomad service it did not register itself, so two Nomad
# clients sharing one agent keep deregistering each other's services.
gpu_consul_http=$((base + 12)) gpu_consul_serf=$((base + 13)) gpu_consul_server=$((base + 14))

bins() {
	if [ -z "${NOMAD_BIN:-}" ] || [ -z "${CONSUL_BIN:-}" ] || [ -z "${NOMAD_DEVICE_PLUGIN:-}" ]; then
		local hs
		hs=$(./scripts/hashistack.sh path)
		CONSUL_BIN=${CONSUL_BIN:-$hs/consul}
		NOMAD_BIN=${NOMAD_BIN:-$hs/nomad}
		NOMAD_DEVICE_PLUGIN=${NOMAD_DEVICE_PLUGIN:-$hs/nomad-device-example}
	fi
}

print_env() {
	bins
	echo "CONSUL_HTTP_ADDR=127.0.0.1:$consul_http"
	echo "NOMAD_ADDR=http://127.0.0.1:$nomad_http"
	echo "CONSUL_BIN=$CONSUL_BIN"
	echo "NOMAD_BIN=$NOMAD_BIN"
}

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() { # what, seconds, command...
	local what=$1 secs=$2
	shift 2
	for _ in $(seq $((secs * 10))); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "cluster.sh: $what not ready after ${secs}s; see $dir/*.log" >&2
	return 1
}

leader() { [ -n "$(curl -fsS "$1" | tr -d '"')" ]; }

consul_joined() {
	curl -fsS "http://127.0.0.1:$gpu_consul_http/v1/catalog/nodes" | grep -q '"Node":"gpu-1"'
}

nodes_ready() {
	[ "$(curl -fsS "http://127.0.0.1:$nomad_http/v1/nodes" | grep -o '"Status":"ready"' | wc -l)" -ge 2 ]
}

write_configs() {
	mkdir -p "$dir/consul" "$dir/consul-gpu" "$dir/nomad" "$dir/nomad-gpu" "$dir/plugins" "$dir/devices" "$dir/tmp"
	cat >"$dir/consul.hcl" <<-HCL
	data_dir  = "$dir/consul"
	log_level = "WARN"
	disable_update_check = true
	ports {
	  server   = $consul_server
	  serf_lan = $consul_serf_lan
	  serf_wan = $consul_serf_wan
	  http     = $consul_http
	  dns      = $consul_dns
	  grpc     = $consul_grpc
	  grpc_tls = -1
	}
	HCL
	cat >"$dir/consul-gpu.hcl" <<-HCL
	data_dir   = "$dir/consul-gpu"
	node_name  = "gpu-1"
	log_level  = "WARN"
	bind_addr  = "127.0.0.1"
	client_addr = "127.0.0.1"
	retry_join = ["127.0.0.1:$consul_serf_lan"]
	disable_update_check = true
	ports {
	  server   = $gpu_consul_server
	  serf_lan = $gpu_consul_serf
	  serf_wan = -1
	  http     = $gpu_consul_http
	  dns      = -1
	  grpc     = -1
	  grpc_tls = -1
	}
	HCL
	cat >"$dir/nomad.hcl" <<-HCL
	data_dir   = "$dir/nomad"
	name       = "cpu-1"
	log_level  = "WARN"
	bind_addr  = "127.0.0.1"
	disable_update_check = true
	ports {
	  http = $nomad_http
	  rpc  = $nomad_rpc
	  serf = $nomad_serf
	}
	consul {
	  address = "127.0.0.1:$consul_http"
	}
	server {
	  # A two-core machine running the whole cluster and a test suite can
	  # starve a client for longer than the default 10s grace: its node was
	  # marked down and every allocation on it lost, once in three CI runs.
	  heartbeat_grace = "30s"
	}
	client {
	  node_class = "cpu"
	  meta {
	    gpu = "false"
	  }
	}
	plugin "raw_exec" {
	  config {
	    enabled = true
	  }
	}
	HCL
	# The GPU client: the example device plugin turns every file in
	# devices/ into one nomad/file/mock device.
	cp -f "$NOMAD_DEVICE_PLUGIN" "$dir/plugins/example-device"
	: >"$dir/devices/gpu0"
	cat >"$dir/nomad-gpu.hcl" <<-HCL
	data_dir   = "$dir/nomad-gpu"
	name       = "gpu-1"
	log_level  = "WARN"
	bind_addr  = "127.0.0.1"
	plugin_dir = "$dir/plugins"
	disable_update_check = true
	advertise {
	  http = "127.0.0.1"
	  rpc  = "127.0.0.1"
	  serf = "127.0.0.1"
	}
	ports {
	  http = $gpu_http
	  rpc  = $gpu_rpc
	  serf = $gpu_serf
	}
	consul {
	  address = "127.0.0.1:$gpu_consul_http"
	}
	client {
	  enabled    = true
	  servers    = ["127.0.0.1:$nomad_rpc"]
	  node_class = "gpu"
	  meta {
	    gpu = "true"
	  }
	}
	plugin "raw_exec" {
	  config {
	    enabled = true
	  }
	}
	plugin "example-device" {
	  config {
	    dir           = "$dir/devices"
	    list_period   = "1s"
	    unhealthy_perm = "-rwxrwxrwx"
	  }
	}
	HCL
}

up() {
	bins
	if running "$dir/consul.pid" || running "$dir/consul-gpu.pid" || running "$dir/nomad.pid"; then
		echo "cluster.sh: already running in $dir (scripts/cluster.sh down first)" >&2
		exit 1
	fi
	write_configs
	"$CONSUL_BIN" agent -dev -bind 127.0.0.1 -client 127.0.0.1 -config-file "$dir/consul.hcl" >"$dir/consul.log" 2>&1 &
	echo $! >"$dir/consul.pid"
	wait_for "Consul leader" 60 leader "http://127.0.0.1:$consul_http/v1/status/leader"
	TMPDIR=$dir/tmp "$NOMAD_BIN" agent -dev -bind 127.0.0.1 -network-interface lo -config "$dir/nomad.hcl" >"$dir/nomad.log" 2>&1 &
	echo $! >"$dir/nomad.pid"
	wait_for "Nomad leader" 60 leader "http://127.0.0.1:$nomad_http/v1/status/leader"
	"$CONSUL_BIN" agent -config-file "$dir/consul-gpu.hcl" >"$dir/consul-gpu.log" 2>&1 &
	echo $! >"$dir/consul-gpu.pid"
	wait_for "gpu-1's Consul agent" 60 consul_joined
	TMPDIR=$dir/tmp "$NOMAD_BIN" agent -network-interface lo -config "$dir/nomad-gpu.hcl" >"$dir/nomad-gpu.log" 2>&1 &
	echo $! >"$dir/nomad-gpu.pid"
	wait_for "both Nomad nodes" 60 nodes_ready
	echo "cluster.sh: Consul on 127.0.0.1:$consul_http, Nomad on 127.0.0.1:$nomad_http (nodes cpu-1, gpu-1), state in $dir" >&2
	print_env
}

stop_pid() {
	local f=$1
	if running "$f"; then
		local pid
		pid=$(cat "$f")
		kill -INT "$pid" 2>/dev/null || true
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$f"
}

# descendants prints pid and every process below it.
descendants() {
	echo "$1"
	local c
	for c in $(pgrep -P "$1" 2>/dev/null); do
		descendants "$c"
	done
}

# cluster_pids prints every process of this cluster: the agents and what
# they started (log collectors, task executors, the tasks), found while the
# agents still run, and the executors that name this cluster's folder.
cluster_pids() {
	local p
	for p in $(cat "$dir"/*.pid 2>/dev/null) $(pgrep -f -- "$dir/" 2>/dev/null); do
		descendants "$p"
	done | sort -u
}

allocs_running() {
	curl -fsS "http://127.0.0.1:$nomad_http/v1/allocations" | grep -q '"ClientStatus":"running"'
}

down() {
	if running "$dir/nomad.pid"; then
		bins
		# Jobs first, so their executors and tasks exit with them; then
		# wait for the clients to have stopped them: a client agent that
		# stops leaves its tasks running, by design (for upgrades).
		for job in $(NOMAD_ADDR=http://127.0.0.1:$nomad_http "$NOMAD_BIN" job status -short 2>/dev/null | awk 'NR > 1 && $1 != "No" {print $1}'); do
			NOMAD_ADDR=http://127.0.0.1:$nomad_http "$NOMAD_BIN" job stop -purge -yes -detach "$job" >/dev/null 2>&1 || true
		done
		for _ in $(seq 300); do
			allocs_running || break
			sleep 0.1
		done
	fi
	local left
	left=$(cluster_pids)
	stop_pid "$dir/nomad-gpu.pid"
	stop_pid "$dir/nomad.pid"
	stop_pid "$dir/consul-gpu.pid"
	stop_pid "$dir/consul.pid"
	# Whatever outlived its agent (a task a client had no time to stop)
	# goes too, by the PIDs found above.
	local p
	for p in $left; do
		kill -KILL "$p" 2>/dev/null || true
	done
}

status() {
	bins
	CONSUL_HTTP_ADDR=127.0.0.1:$consul_http "$CONSUL_BIN" members || true
	NOMAD_ADDR=http://127.0.0.1:$nomad_http "$NOMAD_BIN" node status || true
}

case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
env) print_env ;;
*)
	echo "usage: $0 up|down|status|env" >&2
	exit 2
	;;
esac
