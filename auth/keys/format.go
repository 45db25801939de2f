package keys

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
)

// The parts of a key string: dsk_<xid>_<secret>.
const (
	// KeyPrefix starts every key string, so that ParseCredential can tell an
	// API key from a JWT and secret scanners can find leaked keys.
	KeyPrefix = "dsk_"
	// IDPrefix starts every key id.
	IDPrefix = "key_"

	xidLen       = 20 // github.com/rs/xid's String length
	secretBytes  = 32
	secretLen    = 52 // unpadded base32 of secretBytes
	keyStringLen = len(KeyPrefix) + xidLen + 1 + secretLen

	xidAlphabet    = "0123456789abcdefghijklmnopqrstuv"
	secretAlphabet = "abcdefghijklmnopqrstuvwxyz234567"
)

// secretEncoding writes secrets; parseKey reads them without allocating.
var secretEncoding = base32.NewEncoding(secretAlphabet).WithPadding(base32.NoPadding)

// invalid marks bytes outside an alphabet in the decode tables.
const invalid = 0xff

var (
	xidDecode    = decodeTable(xidAlphabet)
	secretDecode = decodeTable(secretAlphabet)
)

func decodeTable(alphabet string) [256]byte {
	var t [256]byte
	for i := range t {
		t[i] = invalid
	}
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	return t
}

// newSecret returns fresh random secret bytes and their encoding.
func newSecret() ([secretBytes]byte, string, error) {
	var b [secretBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return b, "", fmt.Errorf("reading random secret: %w", err)
	}
	return b, secretEncoding.EncodeToString(b[:]), nil
}

// formatKey builds the string handed to the client once.
func formatKey(id, secret string) string {
	return KeyPrefix + id[len(IDPrefix):] + "_" + secret
}

// parseKey splits a presented key into the xid part of its id and the
// decoded secret, which it writes to secret. It accepts only the exact,
// canonical form Issue produces, so one secret has one spelling. It does not
// allocate: Verify runs it on every request.
func parseKey(s string, secret *[secretBytes]byte) (xid string, ok bool) {
	if len(s) != keyStringLen || s[:len(KeyPrefix)] != KeyPrefix {
		return "", false
	}
	xid = s[len(KeyPrefix) : len(KeyPrefix)+xidLen]
	if !validXID(xid) || s[len(KeyPrefix)+xidLen] != '_' {
		return "", false
	}
	enc := s[len(KeyPrefix)+xidLen+1:]
	_ = enc[secretLen-1]
	// Eight characters make five bytes. Valid table values are below 32
	// and invalid is 0xff, so OR-ing them all finds any bad byte at the end.
	var bad byte
	for g := range 6 {
		var v uint64
		for _, c := range []byte(enc[g*8 : g*8+8]) {
			d := secretDecode[c]
			bad |= d
			v = v<<5 | uint64(d)
		}
		secret[g*5] = byte(v >> 32)
		secret[g*5+1] = byte(v >> 24)
		secret[g*5+2] = byte(v >> 16)
		secret[g*5+3] = byte(v >> 8)
		secret[g*5+4] = byte(v)
	}
	// The last four characters carry 20 bits: two bytes, then four bits
	// that must be zero in the canonical form.
	var v uint64
	for _, c := range []byte(enc[48:52]) {
		d := secretDecode[c]
		bad |= d
		v = v<<5 | uint64(d)
	}
	secret[30] = byte(v >> 12)
	secret[31] = byte(v >> 4)
	if bad&0xe0 != 0 || v&0xf != 0 {
		return "", false
	}
	return xid, true
}

// validXID reports whether s is a 20-character xid string.
func validXID(s string) bool {
	if len(s) != xidLen {
		return false
	}
	for i := range len(s) {
		if xidDecode[s[i]] == invalid {
			return false
		}
	}
	return true
}

// ValidID reports whether id has the form of a key id, "key_" and an xid.
// The admin API uses it to answer 404 for a malformed id without a store
// read.
func ValidID(id string) bool {
	return len(id) == len(IDPrefix)+xidLen && id[:len(IDPrefix)] == IDPrefix && validXID(id[len(IDPrefix):])
}
