package keys

import (
	"net/http"
	"strings"
)

// CredentialKind says what a request presented.
type CredentialKind int

// The kinds of credential.
const (
	// KindNone means the request carried no credential.
	KindNone CredentialKind = iota
	// KindAPIKey is a "dsk_" key, for Keyring.Verify.
	KindAPIKey
	// KindBearer is any other bearer token, such as a JWT for the OIDC
	// verifier.
	KindBearer
)

// String returns the kind's name for logs.
func (k CredentialKind) String() string {
	switch k {
	case KindNone:
		return "none"
	case KindAPIKey:
		return "api_key"
	case KindBearer:
		return "bearer"
	}
	return "unknown"
}

// Credential is what a request presented.
type Credential struct {
	// Kind says which verifier Value is for.
	Kind CredentialKind
	// Value is the key or token, empty for KindNone. It is a secret: never
	// log it.
	Value string
}

// CredentialError says why a request's credential headers were rejected.
// Its message is safe to show to clients: it never contains a header value.
type CredentialError struct {
	// Message is one of a fixed set of texts.
	Message string
}

// Error returns the message.
func (e *CredentialError) Error() string { return e.Message }

// maxCredentialLen bounds each header value, in bytes.
const maxCredentialLen = 8 << 10

// Header names read by ParseCredential.
const (
	headerAuthorization = "Authorization"
	headerAPIKey        = "X-API-Key"
)

// The messages of CredentialError. They are constants so that no value can
// slip into one.
const (
	msgMultipleAuth    = "more than one Authorization header"
	msgMultipleAPIKey  = "more than one X-API-Key header"
	msgEmptyAuth       = "empty Authorization header"
	msgEmptyAPIKey     = "empty X-API-Key header"
	msgLongAuth        = "Authorization header longer than 8 KiB"
	msgLongAPIKey      = "X-API-Key header longer than 8 KiB"
	msgScheme          = "Authorization header must use the Bearer scheme"
	msgMalformedBearer = "Authorization header must be \"Bearer\" followed by one token"
	msgMalformedAPIKey = "X-API-Key header must hold a dsk_ API key"
	msgConflict        = "Authorization and X-API-Key headers carry different credentials"
)

// ParseCredential reads the Authorization and X-API-Key headers:
//
//   - "Authorization: Bearer dsk_…" is KindAPIKey; any other bearer token is
//     KindBearer. The scheme is case-insensitive and followed by spaces and
//     exactly one token of RFC 6750 b64token characters. Other schemes (Basic, …) are
//     an error.
//   - "X-API-Key: dsk_…" is KindAPIKey; a value that does not look like a
//     key is an error.
//   - Both headers are an error unless they carry the same API key.
//   - A header given more than once, an empty or whitespace-only value, or
//     a value over 8 KiB is an error.
//   - Neither header is KindNone and no error.
//
// Errors are *CredentialError. ParseCredential checks only the form; the
// caller verifies the value.
func ParseCredential(h http.Header) (Credential, error) {
	auth, hasAuth, err := single(h, headerAuthorization, msgMultipleAuth, msgEmptyAuth, msgLongAuth)
	if err != nil {
		return Credential{}, err
	}
	key, hasKey, err := single(h, headerAPIKey, msgMultipleAPIKey, msgEmptyAPIKey, msgLongAPIKey)
	if err != nil {
		return Credential{}, err
	}

	var fromAuth Credential
	if hasAuth {
		if fromAuth, err = parseAuthorization(auth); err != nil {
			return Credential{}, err
		}
	}
	if hasKey && (!strings.HasPrefix(key, KeyPrefix) || !isB64Token(key)) {
		return Credential{}, &CredentialError{Message: msgMalformedAPIKey}
	}
	switch {
	case hasAuth && hasKey:
		if fromAuth.Kind != KindAPIKey || fromAuth.Value != key {
			return Credential{}, &CredentialError{Message: msgConflict}
		}
		return fromAuth, nil
	case hasAuth:
		return fromAuth, nil
	case hasKey:
		return Credential{Kind: KindAPIKey, Value: key}, nil
	}
	return Credential{}, nil
}

// single returns the header's only value with surrounding spaces and tabs
// trimmed, and whether the header is present at all.
func single(h http.Header, name, multiple, empty, long string) (string, bool, error) {
	vs := h.Values(name)
	switch {
	case len(vs) == 0:
		return "", false, nil
	case len(vs) > 1:
		return "", true, &CredentialError{Message: multiple}
	case len(vs[0]) > maxCredentialLen:
		return "", true, &CredentialError{Message: long}
	}
	v := strings.Trim(vs[0], " \t")
	if v == "" {
		return "", true, &CredentialError{Message: empty}
	}
	return v, true, nil
}

// parseAuthorization reads "Bearer <token>" (RFC 6750 §2.1).
func parseAuthorization(v string) (Credential, error) {
	scheme, token, found := strings.Cut(v, " ")
	token = strings.TrimLeft(token, " ") // credentials = auth-scheme 1*SP token68
	if !strings.EqualFold(scheme, "Bearer") {
		return Credential{}, &CredentialError{Message: msgScheme}
	}
	if !found || !isB64Token(token) {
		return Credential{}, &CredentialError{Message: msgMalformedBearer}
	}
	if strings.HasPrefix(token, KeyPrefix) {
		return Credential{Kind: KindAPIKey, Value: token}, nil
	}
	return Credential{Kind: KindBearer, Value: token}, nil
}

// isB64Token reports whether s is an RFC 6750 b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}
