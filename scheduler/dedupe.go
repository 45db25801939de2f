package scheduler

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
)

// dedupeVersion is hashed into every dedupe key, so that a change to what
// goes into a key makes new keys instead of matching old results.
const dedupeVersion = 1

// DedupeKey derives Job.DedupeKey: the hex SHA-256 of scope, the hex SHA-256
// of the input's bytes and the canonical JSON of o. Scope is the tenant, so
// that no tenant is ever answered with another's job, or "" where results
// are shared across tenants.
//
// o must be normalised first (Options.Normalize): the key compares options
// as given, so "" and the default it stands for are different keys. Every
// option is part of the key, the webhook included, so the stored job that
// answers a submission carries exactly the options the client sent. A field
// added to Options later changes no existing key while it is left zero.
func DedupeKey(scope string, contentSHA256 string, o Options) string {
	// Encoding a struct of strings, slices and a pointer to strings cannot
	// fail, and JSON's quoting keeps the parts from running into each other.
	b, _ := json.Marshal(struct {
		Version int     `json:"v"`
		Scope   string  `json:"scope"`
		SHA256  string  `json:"sha256"`
		Options Options `json:"options"`
	}{dedupeVersion, scope, strings.ToLower(contentSHA256), o})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Reusable reports whether j's result may answer a duplicate submission at
// now: the job succeeded and its artifacts are neither removed nor due for
// removal. A job that is due but not yet swept counts as gone, because the
// sweep may delete its result while the answer is on its way.
func (j *Job) Reusable(now time.Time) bool {
	return j.Status == StatusSucceeded && !j.ResultExpired && (j.ExpiresAt.IsZero() || j.ExpiresAt.After(now))
}
