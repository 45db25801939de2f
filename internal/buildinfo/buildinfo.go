// Package buildinfo tells a binary's version and commit.
package buildinfo

import "runtime/debug"

// Version returns stamped when the build set it (make passes version and
// commit through -ldflags -X, since builds here run with -buildvcs=false),
// else what the Go toolchain recorded.
func Version(stamped string) string {
	if stamped != "" {
		return stamped
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := info.Main.Version
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if rev != "" {
		v += " commit " + rev[:min(len(rev), 12)] + modified
	}
	return v + " " + info.GoVersion
}
