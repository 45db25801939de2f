package cors

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"
)

// knownMethods are the methods AllowedMethods may name: a misspelt one
// must fail the config, not quietly never match.
var knownMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions,
}

// splitList splits a list of origins on commas and white space, the forms an
// environment variable is likely to hold.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
}

// checkOrigin accepts "*", or scheme://host[:port] over http or https, where
// host may start with one "*." to allow the subdomains of a domain. A path,
// even a lone "/", is refused: browsers never send one, so such an entry
// would match nothing.
func checkOrigin(origin string) error {
	if origin == "*" {
		return nil
	}
	probe := origin
	if strings.Contains(origin, "*") {
		scheme, rest, ok := strings.Cut(origin, "://")
		if !ok || !strings.HasPrefix(rest, "*.") || strings.Count(origin, "*") > 1 {
			return fmt.Errorf("origin %q: a wildcard may only stand for subdomains, as in https://*.example.com", origin)
		}
		probe = scheme + "://x" + rest[1:]
	}
	u, err := url.Parse(probe)
	if err != nil {
		return fmt.Errorf("parsing origin %q: %w", origin, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("origin %q: want an http or https origin such as https://app.example", origin)
	}
	if u.Host == "" || u.Opaque != "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(origin, "?") || strings.HasSuffix(origin, "#") {
		return fmt.Errorf("origin %q: want scheme://host[:port], with no path, not even a trailing slash", origin)
	}
	return nil
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2), the syntax
// of a header name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}
