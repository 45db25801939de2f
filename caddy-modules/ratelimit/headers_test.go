package ratelimit

import (
	"net/textproto"
	"testing"
)

// The keys set directly must be the ones Header.Set and Header.Get use,
// or clients reading RateLimit-Limit would find nothing.
func TestRateHeaderKeysCanonical(t *testing.T) {
	for _, k := range []string{hdrLimit, hdrRemaining, hdrReset} {
		if c := textproto.CanonicalMIMEHeaderKey(k); c != k {
			t.Errorf("%q is not canonical (%q)", k, c)
		}
	}
	for name, k := range map[string]string{"RateLimit-Limit": hdrLimit, "RateLimit-Remaining": hdrRemaining, "RateLimit-Reset": hdrReset} {
		if textproto.CanonicalMIMEHeaderKey(name) != k {
			t.Errorf("%s is not under %q", name, k)
		}
	}
}
