#!/usr/bin/env bash
# Builds real Consul and Nomad binaries for the dev cluster and the cluster
# e2e tests, and prints the folder holding them. They are the newest
# MPL-2.0 releases the Go module proxy serves, Consul v1.16.3 and Nomad
# v1.6.3 (later ones are BUSL: never move these versions forward), built
# from the module zips into a cache folder outside the repository, keyed by
# version, and reused once there. `go install …@version` cannot build them,
# because both modules carry replace directives; the recipe drops those.
#
#   scripts/hashistack.sh path     print the folder, building what is missing
#
# The folder holds consul-1.16.3, nomad-1.6.3 and
# nomad-device-example-1.6.3 (Nomad's example device plugin, the dev
# cluster's stand-in GPU), plus consul, nomad and nomad-device-example links
# to them. DOCSTRANGE_CACHE_DIR overrides the cache root, which
# defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/docstrange. A cold build takes
# about 5 min (Consul) and 3 min (Nomad) on 2 cores and grows the module
# cache by about 4 GB. Build progress goes to stderr; only the path goes to
# stdout.
set -euo pipefail

consul_version=1.16.3
consul_commit=1123b47f
nomad_version=1.6.3
nomad_commit=e0497bff14378d68cad76a801cc0eba93ce05039
nomad_api=v0.0.0-20231030125810-e0497bff1437
# consul/envoyextensions v0.4.1 is unknown to the checksum database: its
# hash is pinned here instead (checked on the module proxy's zip).
envoyext_sum='github.com/hashicorp/consul/envoyextensions v0.4.1 h1:7s3IXE+qmwjPbZPva+8BjHLrpkFrFkNE+z/6X/O6PQc='

if [ $# -ne 1 ] || [ "$1" != path ]; then
	echo "usage: $0 path" >&2
	exit 2
fi

dir=${DOCSTRANGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/docstrange}/hashistack
consul=$dir/consul-$consul_version
nomad=$dir/nomad-$nomad_version
device=$dir/nomad-device-example-$nomad_version
mkdir -p "$dir"
if [ -x "$consul" ] && [ -x "$nomad" ] && [ -x "$device" ]; then
	echo "$dir"
	exit 0
fi

# go test runs packages in parallel: one builds, the others wait and reuse.
if command -v flock >/dev/null 2>&1; then
	exec 9>"$dir/.lock"
	flock 9
fi

export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local GOWORK=off
modcache=$(go env GOMODCACHE)
tmp=$(mktemp -d "$dir/.build.XXXXXX")
beat=
trap 'if [ -n "$beat" ]; then kill "$beat" 2>/dev/null || true; fi; chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
(
	i=0
	while sleep 30; do
		i=$((i + 30))
		echo "hashistack.sh: still building (${i}s)" >&2
	done
) &
beat=$!

if [ ! -x "$consul" ]; then
	echo "hashistack.sh: building Consul v$consul_version into $dir (first use only, about 5 min on 2 cores)" >&2
	start=$(date +%s)
	go mod download -json "github.com/hashicorp/consul@v$consul_version" >/dev/null
	cp -r "$modcache/github.com/hashicorp/consul@v$consul_version" "$tmp/consul"
	chmod -R u+w "$tmp/consul"
	(
		cd "$tmp/consul"
		go mod edit -dropreplace=github.com/hashicorp/consul/api -dropreplace=github.com/hashicorp/consul/envoyextensions \
			-dropreplace=github.com/hashicorp/consul/proto-public -dropreplace=github.com/hashicorp/consul/sdk \
			-dropreplace=github.com/hashicorp/consul/troubleshoot
		echo "$envoyext_sum" >>go.sum
		GONOSUMDB=github.com/hashicorp/consul/envoyextensions CGO_ENABLED=0 go build -mod=mod \
			-ldflags "-X github.com/hashicorp/consul/version.GitCommit=$consul_commit" -o "$tmp/consul.bin" .
	) >&2
	mv -f "$tmp/consul.bin" "$consul"
	echo "hashistack.sh: built $consul in $(($(date +%s) - start))s" >&2
fi

if [ ! -x "$nomad" ] || [ ! -x "$device" ]; then
	echo "hashistack.sh: building Nomad v$nomad_version into $dir (first use only, about 3 min on 2 cores)" >&2
	start=$(date +%s)
	go mod download -json "github.com/hashicorp/nomad@v$nomad_version" >/dev/null
	cp -r "$modcache/github.com/hashicorp/nomad@v$nomad_version" "$tmp/nomad"
	chmod -R u+w "$tmp/nomad"
	(
		cd "$tmp/nomad"
		go mod edit -dropreplace=github.com/hashicorp/nomad/api -require="github.com/hashicorp/nomad/api@$nomad_api"
		CGO_ENABLED=1 go build -mod=mod -trimpath -tags "codegen_generated release" \
			-ldflags "-X github.com/hashicorp/nomad/version.GitCommit=$nomad_commit" -o "$tmp/nomad.bin" .
		# The example device plugin turns files in a folder into devices.
		CGO_ENABLED=0 go build -mod=mod -trimpath -o "$tmp/device.bin" ./plugins/device/cmd/example/cmd
	) >&2
	mv -f "$tmp/nomad.bin" "$nomad"
	mv -f "$tmp/device.bin" "$device"
	echo "hashistack.sh: built $nomad in $(($(date +%s) - start))s" >&2
fi
ln -sfn "consul-$consul_version" "$dir/consul"
ln -sfn "nomad-$nomad_version" "$dir/nomad"
ln -sfn "nomad-device-example-$nomad_version" "$dir/nomad-device-example"
echo "$dir"
