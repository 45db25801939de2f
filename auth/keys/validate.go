package keys

import (
	"unicode"
	"unicode/utf8"
)

// Limits on Issue's inputs.
const (
	maxTenantLen = 128
	maxTierLen   = 64
	maxNameRunes = 128
)

// validateIssue checks Issue's inputs and names the first bad field.
func validateIssue(tenant, tier, name string) error {
	switch {
	case tenant == "":
		return &FieldError{Field: "tenant", Message: "required"}
	case len(tenant) > maxTenantLen:
		return &FieldError{Field: "tenant", Message: "longer than 128 characters"}
	case !allBytes(tenant, tenantByte):
		return &FieldError{Field: "tenant", Message: "may contain only A-Z a-z 0-9 . _ : @ -"}
	case tier == "":
		return &FieldError{Field: "tier", Message: "required"}
	case len(tier) > maxTierLen:
		return &FieldError{Field: "tier", Message: "longer than 64 characters"}
	case !allBytes(tier, tierByte):
		return &FieldError{Field: "tier", Message: "may contain only a-z 0-9 _"}
	case !utf8.ValidString(name):
		return &FieldError{Field: "name", Message: "not valid UTF-8"}
	case utf8.RuneCountInString(name) > maxNameRunes:
		return &FieldError{Field: "name", Message: "longer than 128 characters"}
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return &FieldError{Field: "name", Message: "may contain only printable characters"}
		}
	}
	return nil
}

func allBytes(s string, ok func(byte) bool) bool {
	for i := range len(s) {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func tenantByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == ':' || c == '@' || c == '-'
}

func tierByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_'
}
