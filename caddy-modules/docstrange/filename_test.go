package docstrange

import (
	"strings"
	"testing"
)

func TestSanitizeFilename(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "plain", in: "report.pdf", want: "report.pdf"},
		{name: "unix path", in: "../../etc/passwd", want: "passwd"},
		{name: "windows path", in: `C:\Users\me\scan.pdf`, want: "scan.pdf"},
		{name: "control characters", in: "a\x00b\r\nc.pdf", want: "abc.pdf"},
		{name: "quotes dropped", in: `x".pdf`, want: "x.pdf"},
		{name: "invalid utf-8", in: "caf\xe9.pdf", want: "caf.pdf"},
		{name: "dot dot", in: "..", want: ""},
		{name: "empty", in: "", want: ""},
		{name: "unicode kept", in: "Übersicht 日本.pdf", want: "Übersicht 日本.pdf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SanitizeFilename(tt.in); got != tt.want {
				t.Fatalf("SanitizeFilename(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	long := SanitizeFilename(strings.Repeat("é", 300))
	if len(long) > maxFilename || !strings.HasPrefix(long, "é") || strings.ContainsRune(long, '\uFFFD') {
		t.Fatalf("long name cut badly: %d bytes", len(long))
	}
}
