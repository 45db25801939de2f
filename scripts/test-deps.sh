#!/usr/bin/env bash
# Installs what the tests need on a fresh machine: a redis-server binary and
# an S3-compatible server binary (the tests start their own servers on free
# ports).
set -euo pipefail

sudo_if_needed() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v redis-server >/dev/null 2>&1; then
	echo "installing redis-server (tests start their own instances)"
	sudo_if_needed apt-get update -q
	DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -q redis-server
fi

# Node and npm run the stock tus-js-client in the e2e tests (npm also
# fetches the models).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "installing nodejs and npm (the e2e tests run the stock tus-js-client)"
	sudo_if_needed apt-get update -q
	DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -q nodejs npm
fi

# The S3-compatible server (versitygw, Apache-2.0) the upload store tests
# run against: built once from the Go module proxy into a cache outside the
# repository (a few minutes cold), so no test waits for it.
"$(dirname "${BASH_SOURCE[0]}")/s3-server.sh" path >/dev/null

# Consul v1.16.3 and Nomad v1.6.3 (the newest MPL-2.0 releases) for the
# cluster tests: built once from the module proxy into a cache outside the
# repository (about 8 min and 4 GB of module cache cold), then reused.
"$(dirname "${BASH_SOURCE[0]}")/hashistack.sh" path >/dev/null
