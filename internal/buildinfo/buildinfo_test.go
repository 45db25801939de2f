package buildinfo

import (
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	if got := Version("v1.2.3 (commit abc)"); got != "v1.2.3 (commit abc)" {
		t.Fatalf("stamped version not used: %q", got)
	}
	if got := Version(""); !strings.Contains(got, "go1.") {
		t.Fatalf("fallback lacks the Go version: %q", got)
	}
}
