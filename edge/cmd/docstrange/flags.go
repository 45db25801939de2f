package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/dustin/go-humanize"
)

// parseInterspersed parses flags wherever they stand among the positional
// arguments, as in `docstrange submit a.pdf --wait`; the standard flag
// package stops at the first positional one. "--" ends the flags, and a
// lone "-" (standard input) is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// byteSize is a flag holding a size such as 16MiB or 100MB.
type byteSize int64

// String implements flag.Value.
func (b *byteSize) String() string {
	if b == nil {
		return "0"
	}
	return humanize.IBytes(uint64(*b))
}

// Set implements flag.Value.
func (b *byteSize) Set(s string) error {
	n, err := humanize.ParseBytes(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("parsing size %q: %w", s, err)
	}
	if n > 1<<62 {
		return fmt.Errorf("size %q is too large", s)
	}
	*b = byteSize(n)
	return nil
}

// oneOf is a string flag restricted to a set of values; "" is unset.
type oneOf struct {
	value   string
	allowed []string
}

// String implements flag.Value.
func (o *oneOf) String() string {
	if o == nil {
		return ""
	}
	return o.value
}

// Set implements flag.Value; values are compared without case.
func (o *oneOf) Set(s string) error {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, a := range o.allowed {
		if s == a {
			o.value = s
			return nil
		}
	}
	return fmt.Errorf("%q is not one of %s", s, strings.Join(o.allowed, ", "))
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
