// Command docstrange-edge is the DocStrange Mesh edge: Caddy with its
// standard modules plus ours. `docstrange-edge run --config edge/Caddyfile`
// starts it; `--version` prints the version and commit.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/docstrange/mesh/caddy-modules/all"
)

func main() {
	caddycmd.Main()
}
