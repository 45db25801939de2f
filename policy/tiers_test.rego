package docstrange.tiers_test

import data.docstrange.tiers

mib := 1048576

submit(tier, options, size) := {
	"tier": tier,
	"tenant": "t1",
	"method": "POST",
	"route": "/api/v1/documents",
	"options": options,
	"size": size,
}

request(tier, method, route) := {
	"tier": tier,
	"tenant": "t1",
	"method": method,
	"route": route,
}

# Every tier may submit a plain CPU document of 1 MiB.
test_plain_submit_allowed[tier] if {
	some tier in ["free", "api_key", "oauth", "enterprise"]
	d := tiers.decision with input as submit(tier, {"device": "cpu"}, mib)
	d.allow == true
	d.reason == "OK"
	d.tier == tier
}

# Reads and cancels of job routes are allowed for every tier, whatever it
# may submit.
test_job_routes_allowed[name] if {
	some tier in ["free", "api_key", "oauth", "enterprise"]
	some [method, route] in [
		["GET", "/api/v1/jobs"],
		["GET", "/api/v1/jobs/{id}"],
		["HEAD", "/api/v1/jobs/{id}"],
		["GET", "/api/v1/jobs/{id}/events"],
		["GET", "/api/v1/jobs/{id}/result"],
		["GET", "/api/v1/jobs/{id}/webhooks"],
		["GET", "/api/v1/batches/{id}"],
		["DELETE", "/api/v1/batches/{id}"],
		["DELETE", "/api/v1/jobs/{id}"],
		["GET", "/api/v1/me"],
		["GET", "/api/v1/usage"],
	]
	name := sprintf("%s %s %s", [tier, method, route])
	d := tiers.decision with input as request(tier, method, route)
	d.allow == true
}

# Each feature a tier lacks is refused with that feature named.
test_feature_matrix[name] if {
	some tc in [
		{"tier": "free", "opts": {"device": "gpu"}, "feature": "gpu"},
		{"tier": "free", "opts": {"batch": true}, "feature": "batch"},
		{"tier": "free", "opts": {"webhook": "https://example.com/hook"}, "feature": "webhook"},
		{"tier": "free", "opts": {"webhook": true}, "feature": "webhook"},
		{"tier": "free", "opts": {"url_source": "https://example.com/a.pdf"}, "feature": "url_source"},
		{"tier": "free", "opts": {"device": "gpu", "batch": true, "url_source": "u"}, "feature": "gpu"},
		{"tier": "free", "opts": {"batch": true, "webhook": true}, "feature": "batch"},
		{"tier": "free", "opts": {"device": "auto"}, "feature": null},
		{"tier": "free", "opts": {"batch": false, "webhook": "", "url_source": false}, "feature": null},
		{"tier": "api_key", "opts": {"device": "gpu", "batch": true, "webhook": "h", "url_source": "u"}, "feature": null},
		{"tier": "oauth", "opts": {"device": "gpu", "batch": true, "webhook": "h", "url_source": "u"}, "feature": null},
		{"tier": "enterprise", "opts": {"device": "gpu", "batch": true, "webhook": "h", "url_source": "u"}, "feature": null},
	]
	name := sprintf("%s %v", [tc.tier, tc.opts])
	d := tiers.decision with input as submit(tc.tier, tc.opts, mib)
	want_feature(d, tc.feature)
}

want_feature(d, null) if {
	d.allow == true
	d.reason == "OK"
}

want_feature(d, f) if {
	f != null
	d.allow == false
	d.reason == "FEATURE_NOT_IN_TIER"
	d.feature == f
	contains(d.message, f)
}

# The size limit is inclusive: exactly max_file_size passes, one byte more
# does not.
test_file_size[name] if {
	some tc in [
		{"tier": "free", "size": 10 * mib, "allow": true},
		{"tier": "free", "size": (10 * mib) + 1, "allow": false},
		{"tier": "api_key", "size": 100 * mib, "allow": true},
		{"tier": "api_key", "size": (100 * mib) + 1, "allow": false},
		{"tier": "oauth", "size": (100 * mib) + 1, "allow": false},
		{"tier": "enterprise", "size": 1024 * mib, "allow": true},
		{"tier": "enterprise", "size": (1024 * mib) + 1, "allow": false},
	]
	name := sprintf("%s %d", [tc.tier, tc.size])
	d := tiers.decision with input as submit(tc.tier, {}, tc.size)
	d.allow == tc.allow
	size_reason(d)
}

size_reason(d) if d.allow

size_reason(d) if {
	not d.allow
	d.reason == "FILE_TOO_LARGE"
}

# An unknown size (streamed upload) is left to the edge, which enforces
# limits.max_file_size while the body arrives.
test_size_absent_allowed if {
	inp := object.remove(submit("free", {}, 0), ["size"])
	d := tiers.decision with input as inp
	d.allow == true
	d.limits.max_file_size == 10 * mib
}

test_unknown_tier_denied[name] if {
	some inp in [
		submit("gold", {}, 1),
		submit("", {}, 1),
		request("gold", "GET", "/api/v1/jobs/{id}"),
		object.remove(request("x", "GET", "/api/v1/jobs"), ["tier"]),
		{},
	]
	name := sprintf("%v", [inp])
	d := tiers.decision with input as inp
	d.allow == false
	d.reason == "UNKNOWN_TIER"
	d.limits == null
	d.features == []
}

test_unknown_route_denied[name] if {
	some [method, route] in [
		["POST", "/api/v1/jobs"],
		["DELETE", "/api/v1/jobs"],
		["GET", "/api/v1/documents"],
		["PUT", "/api/v1/documents"],
		["GET", "/api/v1/jobsx"],
		["GET", "/api/v1/jobs/abc"],
		["DELETE", "/api/v1/jobs/{id}/result"],
		["POST", "/api/v1/me"],
		["POST", "/admin/v1/keys"],
		["GET", "/"],
	]
	name := sprintf("%s %s", [method, route])
	d := tiers.decision with input as request("enterprise", method, route)
	d.allow == false
	d.reason == "ROUTE_NOT_ALLOWED"
}

# Reasons are checked in a fixed order so a caller gets the first problem.
test_reason_precedence if {
	too_much := submit("free", {"device": "gpu"}, 1024 * mib)
	d := tiers.decision with input as too_much
	d.reason == "FEATURE_NOT_IN_TIER"
	u := tiers.decision with input as object.union(too_much, {"tier": "nope"})
	u.reason == "UNKNOWN_TIER"
}

# The limits each tier gets, as DESIGN §3 states them.
test_limits_per_tier[tier] if {
	some tier, want in {
		"free": {"rate": {"requests": 10, "period_seconds": 60}, "quota": {"documents": 100, "period": "day"}, "max_file_size": 10 * mib, "max_batch_size": 0, "priority": 0},
		"api_key": {"rate": {"requests": 120, "period_seconds": 60}, "quota": {"documents": 10000, "period": "month"}, "max_file_size": 100 * mib, "max_batch_size": 100, "priority": 10},
		"oauth": {"rate": {"requests": 120, "period_seconds": 60}, "quota": {"documents": 10000, "period": "month"}, "max_file_size": 100 * mib, "max_batch_size": 100, "priority": 10},
		"enterprise": {"rate": {"requests": 1200, "period_seconds": 60}, "quota": {"documents": null, "period": null}, "max_file_size": 1024 * mib, "max_batch_size": 1000, "priority": 100},
	}
	d := tiers.decision with input as request(tier, "GET", "/api/v1/jobs")
	d.limits == want
}

test_priority_order if {
	p := {t: prio |
		some t in ["free", "api_key", "oauth", "enterprise"]
		prio := tiers.decision.limits.priority with input as request(t, "GET", "/api/v1/jobs")
	}
	p.free < p.api_key
	p.api_key == p.oauth
	p.oauth < p.enterprise
}

test_features_listed[tier] if {
	some tier, want in {
		"free": [],
		"api_key": ["batch", "gpu", "url_source", "webhook"],
		"oauth": ["batch", "gpu", "url_source", "webhook"],
		"enterprise": ["batch", "custom_backends", "gpu", "priority_queue", "url_source", "webhook"],
	}
	d := tiers.decision with input as request(tier, "GET", "/api/v1/jobs")
	d.features == want
}

# Limits, features and even the set of tiers come from data, never from the
# rules: swapping the data swaps the decision.
fake := {"gold": {
	"rate": {"requests": 7, "period_seconds": 1},
	"quota": {"documents": 3, "period": "day"},
	"max_file_size": 5,
	"max_batch_size": 9,
	"priority": 42,
	"features": {"gpu": false, "batch": true, "webhook": false, "url_source": false},
}}

test_limits_come_from_data if {
	d := tiers.decision with input as submit("gold", {"batch": true}, 5) with data.tiers as fake
	d.allow == true
	d.limits == {
		"rate": {"requests": 7, "period_seconds": 1},
		"quota": {"documents": 3, "period": "day"},
		"max_file_size": 5,
		"max_batch_size": 9,
		"priority": 42,
	}
	d.features == ["batch"]
}

test_size_limit_comes_from_data if {
	d := tiers.decision with input as submit("gold", {}, 6) with data.tiers as fake
	d.reason == "FILE_TOO_LARGE"
}

test_features_come_from_data if {
	d := tiers.decision with input as submit("gold", {"device": "gpu"}, 1) with data.tiers as fake
	d.reason == "FEATURE_NOT_IN_TIER"
	d.feature == "gpu"
}

test_tiers_come_from_data if {
	d := tiers.decision with input as submit("free", {}, 1) with data.tiers as fake
	d.reason == "UNKNOWN_TIER"
}

# The real data must give every tier every field the edge reads.
test_data_complete[tier] if {
	some tier, t in data.tiers
	is_number(t.rate.requests)
	t.rate.period_seconds > 0
	t.quota.period in {"day", "month", null}
	is_number(t.max_file_size)
	is_number(t.priority)
	every f in ["gpu", "batch", "webhook", "url_source", "priority_queue", "custom_backends"] {
		is_boolean(t.features[f])
	}
}

# Every tier may use the tus routes; the tus handler applies the size.
test_upload_routes_allowed[name] if {
	some tier in ["free", "api_key", "oauth", "enterprise"]
	some [method, route] in [
		["POST", "/api/v1/uploads/{$}"],
		["POST", "/api/v1/uploads"],
		["OPTIONS", "/api/v1/uploads/{$}"],
		["HEAD", "/api/v1/uploads/{id}"],
		["PATCH", "/api/v1/uploads/{id}"],
		["DELETE", "/api/v1/uploads/{id}"],
	]
	name := sprintf("%s %s %s", [tier, method, route])
	d := tiers.decision with input as request(tier, method, route)
	d.allow == true
}

test_upload_routes_closed[name] if {
	some [method, route] in [
		["GET", "/api/v1/uploads/{id}"],
		["PUT", "/api/v1/uploads/{id}"],
		["PATCH", "/api/v1/uploads/{$}"],
		["POST", "/api/v1/uploads/abc"],
	]
	name := sprintf("%s %s", [method, route])
	d := tiers.decision with input as request("enterprise", method, route)
	d.reason == "ROUTE_NOT_ALLOWED"
}

# POST /api/v1/batches asks for the batch feature by its route: free is
# refused before the body is read, the others are allowed.
test_batch_route[name] if {
	some tc in [
		{"tier": "free", "feature": "batch"},
		{"tier": "api_key", "feature": null},
		{"tier": "oauth", "feature": null},
		{"tier": "enterprise", "feature": null},
	]
	name := tc.tier
	d := tiers.decision with input as request(tc.tier, "POST", "/api/v1/batches")
	want_feature(d, tc.feature)
}
