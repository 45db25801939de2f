package docstrange

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxFilename bounds a stored file name in bytes.
const maxFilename = 255

// SanitizeFilename keeps a client file name only for display: the last path
// element, without control or separator characters, valid UTF-8 and short.
// Storage keys never use it.
func SanitizeFilename(name string) string {
	name = strings.ToValidUTF8(name, "")
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '/' || r == '"' || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "." || name == ".." || name == "/" {
		return ""
	}
	for len(name) > maxFilename {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}
