package plugins

import (
	"fmt"
	"strconv"
	"strings"
)

// API versions of the contract. A minor version only adds what older peers
// can ignore; a new major version gets a new proto package.
const (
	APIVersion1 = "v1"
	// APIVersion1_1 adds ImageGray.
	APIVersion1_1 = "v1.1"
)

// SupportedAPIVersions returns the API versions this build of the package
// speaks, on either side of the boundary.
func SupportedAPIVersions() []string {
	return []string{APIVersion1, APIVersion1_1}
}

// APIVersionAtLeast reports whether API version v is min or later; a
// version that does not parse is not.
func APIVersionAtLeast(v, min string) bool {
	a, ok1 := parseAPIVersion(v)
	b, ok2 := parseAPIVersion(min)
	return ok1 && ok2 && !a.less(b)
}

// VersionMismatchError says host and plugin share no API version. It
// matches ErrNoCommonAPIVersion with errors.Is.
type VersionMismatchError struct {
	Host   []string
	Plugin []string
}

// Error names both lists, so an operator can tell which side to upgrade.
func (e *VersionMismatchError) Error() string {
	return fmt.Sprintf("%s: host supports [%s], plugin supports [%s]",
		ErrNoCommonAPIVersion, strings.Join(e.Host, ", "), strings.Join(e.Plugin, ", "))
}

// Is matches ErrNoCommonAPIVersion.
func (e *VersionMismatchError) Is(target error) bool {
	return target == ErrNoCommonAPIVersion
}

// NegotiateAPIVersion returns the highest version present in both lists, as
// spelled in the host's list; "v1" and "v1.0" are the same version. Entries
// that do not parse as vMAJOR[.MINOR] are ignored. With nothing in common it
// returns a *VersionMismatchError.
func NegotiateAPIVersion(host, plugin []string) (string, error) {
	offered := make(map[apiVersion]bool, len(plugin))
	for _, s := range plugin {
		if v, ok := parseAPIVersion(s); ok {
			offered[v] = true
		}
	}
	var (
		best    apiVersion
		bestStr string
	)
	for _, s := range host {
		v, ok := parseAPIVersion(s)
		if !ok || !offered[v] {
			continue
		}
		if bestStr == "" || best.less(v) {
			best, bestStr = v, s
		}
	}
	if bestStr == "" {
		return "", &VersionMismatchError{Host: host, Plugin: plugin}
	}
	return bestStr, nil
}

type apiVersion struct {
	major, minor int
}

func (v apiVersion) less(o apiVersion) bool {
	if v.major != o.major {
		return v.major < o.major
	}
	return v.minor < o.minor
}

// parseAPIVersion parses "v1" or "v1.2".
func parseAPIVersion(s string) (apiVersion, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), "v")
	if !ok {
		return apiVersion{}, false
	}
	majorStr, minorStr, hasMinor := strings.Cut(rest, ".")
	major, err := strconv.Atoi(majorStr)
	if err != nil || major < 0 {
		return apiVersion{}, false
	}
	v := apiVersion{major: major}
	if hasMinor {
		minor, err := strconv.Atoi(minorStr)
		if err != nil || minor < 0 {
			return apiVersion{}, false
		}
		v.minor = minor
	}
	return v, true
}
