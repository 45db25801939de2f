// Package tiers decides, per request, whether a caller's tier may do what it
// asks and which limits then apply. It runs the Rego in policy/ through an
// embedded OPA, prepared once and evaluated per request, over tier data that
// an operator can replace while the edge runs.
package tiers

import (
	"encoding/json"
	"fmt"
)

// Reason codes of a Decision, as policy/tiers.rego returns them.
const (
	ReasonOK               = "OK"
	ReasonUnknownTier      = "UNKNOWN_TIER"
	ReasonRouteNotAllowed  = "ROUTE_NOT_ALLOWED"
	ReasonFeatureNotInTier = "FEATURE_NOT_IN_TIER"
	ReasonFileTooLarge     = "FILE_TOO_LARGE"
)

// Input is what the policy sees of a request. Route is the router's pattern
// ("/api/v1/jobs/{id}"), never the raw path.
type Input struct {
	Tier    string  `json:"tier"`
	Tenant  string  `json:"tenant"`
	Method  string  `json:"method"`
	Route   string  `json:"route"`
	Options Options `json:"options"`
	// Size is the document's size in bytes; negative means not known yet
	// (a streamed body), and is left out of the policy's input.
	Size int64 `json:"size"`
}

// Options are the requested features the tiers differ on.
type Options struct {
	Device    string `json:"device,omitempty"`
	Batch     bool   `json:"batch,omitempty"`
	Webhook   bool   `json:"webhook,omitempty"`
	URLSource bool   `json:"url_source,omitempty"`
}

// Decision is the policy's answer.
type Decision struct {
	Allow bool `json:"allow"`
	// Reason is ReasonOK or the first reason the request is refused.
	Reason  string `json:"reason"`
	Message string `json:"message,omitempty"`
	// Feature names the missing feature of a FEATURE_NOT_IN_TIER denial.
	Feature  string   `json:"feature,omitempty"`
	Tier     string   `json:"tier"`
	Features []string `json:"features"`
	// Limits is nil for an unknown tier.
	Limits *Limits `json:"limits"`
}

// Limits are what the rate limiter and the job API enforce.
type Limits struct {
	Rate        Rate  `json:"rate"`
	Quota       Quota `json:"quota"`
	MaxFileSize int64 `json:"max_file_size"`
	// MaxBatchSize is how many documents one batch may hold; 0 without
	// the batch feature.
	MaxBatchSize int64 `json:"max_batch_size"`
	Priority     int   `json:"priority"`
}

// Rate is a request budget per identity.
type Rate struct {
	Requests      int64 `json:"requests"`
	PeriodSeconds int64 `json:"period_seconds"`
}

// Quota is a document allowance per tenant and calendar period. Documents
// nil means unlimited.
type Quota struct {
	Documents *int64  `json:"documents"`
	Period    *string `json:"period"`
}

// Unlimited reports whether the quota has no ceiling.
func (q Quota) Unlimited() bool { return q.Documents == nil }

// HasFeature reports whether the decision's tier includes feature f.
func (d *Decision) HasFeature(f string) bool {
	for _, x := range d.Features {
		if x == f {
			return true
		}
	}
	return false
}

// decode turns the policy's value into a Decision. The JSON round trip
// keeps the Go side in step with the documented shape; it only runs on a
// cache miss.
func decode(v any) (*Decision, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding decision: %w", err)
	}
	d := new(Decision)
	if err := json.Unmarshal(raw, d); err != nil {
		return nil, fmt.Errorf("decoding decision %s: %w", raw, err)
	}
	if d.Reason == "" {
		return nil, fmt.Errorf("decoding decision %s: no reason", raw)
	}
	return d, nil
}
