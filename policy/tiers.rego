# Package docstrange.tiers decides whether a caller's tier may make a request,
# and which limits the rate limiter and the job API then apply (DESIGN §3).
#
# Every number lives in data.tiers (policy/data/tiers.json); this
# file holds only the rules, so changing a tier means changing data.
#
# Query: data.docstrange.tiers.decision
# Input: {tier, tenant, method, route, options: {device, batch, webhook, url_source}, size}
# Output: {allow, reason, message, tier, features, limits: {rate, quota, max_file_size, priority}}
package docstrange.tiers

tiers := data.tiers

# The request's fields, defaulted so a missing one yields a denial with a
# reason rather than an undefined decision.
tier_name := object.get(input, "tier", "")

method := object.get(input, "method", "")

route := object.get(input, "route", "")

known if tiers[tier_name]

tier := tiers[tier_name]

# Routes are the patterns the edge's router matched ("/api/v1/jobs/{id}"),
# never raw paths, so a job id cannot make a route look like another one.
# Submitting a document is the only route that consumes a tier's features
# and size; reading or cancelling one's own jobs and reading one's own
# account cost nothing, so every known tier may do it (tenant isolation is
# the job API's job).
submit if {
	method == "POST"
	route == "/api/v1/documents"
}

# A batch is many submits at once; it asks for the batch feature by its
# route alone, so a tier without it is refused before the body is read.
submit if batch_submit

batch_submit if {
	method == "POST"
	route == "/api/v1/batches"
}

read_routes := {
	"/api/v1/jobs",
	"/api/v1/jobs/{id}",
	"/api/v1/jobs/{id}/events",
	"/api/v1/jobs/{id}/result",
	"/api/v1/jobs/{id}/webhooks",
	"/api/v1/batches/{id}",
	"/api/v1/me",
	"/api/v1/usage",
}

job_read if {
	route in read_routes
	method in {"GET", "HEAD"}
}

job_cancel if {
	method == "DELETE"
	route in {"/api/v1/jobs/{id}", "/api/v1/batches/{id}"}
}

# Resumable uploads (tus): every tier may upload, up to its max_file_size,
# which the tus handler applies; the upload becomes a document only
# through a submit.
upload_collection := {"/api/v1/uploads", "/api/v1/uploads/{$}"}

upload if {
	route in upload_collection
	method in {"POST", "OPTIONS"}
}

upload if {
	route == "/api/v1/uploads/{id}"
	method in {"HEAD", "PATCH", "DELETE"}
}

route_allowed if submit

route_allowed if upload

route_allowed if job_read

route_allowed if job_cancel

# Features a submit asks for, checked in this order so the reason is stable.
feature_order := ["gpu", "batch", "webhook", "url_source"]

requested contains "gpu" if input.options.device == "gpu"

requested contains "batch" if set(input.options.batch)

requested contains "batch" if batch_submit

requested contains "webhook" if set(input.options.webhook)

requested contains "url_source" if set(input.options.url_source)

# set is true for an option given as true or as a non-empty string (a URL).
set(x) if x == true

set(x) if {
	is_string(x)
	x != ""
}

missing := [f |
	some f in feature_order
	requested[f]
	not tier.features[f]
]

too_large if {
	is_number(input.size)
	input.size > tier.max_file_size
}

# denial is the first reason, in order, that the request must be refused.
denial := {
	"reason": "UNKNOWN_TIER",
	"message": sprintf("unknown tier %q", [tier_name]),
} if {
	not known
} else := {
	"reason": "ROUTE_NOT_ALLOWED",
	"message": sprintf("%s %s is not allowed", [method, route]),
} if {
	not route_allowed
} else := {
	"reason": "FEATURE_NOT_IN_TIER",
	"feature": missing[0],
	"message": sprintf("the %s tier does not include %s", [tier_name, missing[0]]),
} if {
	submit
	count(missing) > 0
} else := {
	"reason": "FILE_TOO_LARGE",
	"message": sprintf("%v bytes exceeds the %s tier's limit of %v bytes", [input.size, tier_name, tier.max_file_size]),
} if {
	submit
	too_large
}

limits := {
	"rate": tier.rate,
	"quota": tier.quota,
	"max_file_size": tier.max_file_size,
	"max_batch_size": object.get(tier, "max_batch_size", 0),
	"priority": tier.priority,
} if known else := null

features := sort([f | some f, on in tier.features; on == true]) if known else := []

decision := object.union(
	{"allow": false, "tier": tier_name, "features": features, "limits": limits},
	denial,
) if {
	denial
}

decision := {
	"allow": true,
	"reason": "OK",
	"message": "",
	"tier": tier_name,
	"features": features,
	"limits": limits,
} if {
	not denial
}
