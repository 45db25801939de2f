// Package policy holds the Rego that decides what each tier may do, and the
// data that says how much. It is Rego and data only: the rules live in
// *.rego beside their *_test.rego, the numbers in data/*.json, so changing a
// tier's limits is a data change that never touches Go. The files are
// embedded so the edge's authz module needs no policy directory at run time;
// it compiles FS once with rego.PrepareForEval and mounts the JSON under
// DataPath in its store.
package policy

import "embed"

// FS holds every policy module (*.rego, tests included) and data file
// (data/*.json), with paths relative to this folder.
//
//go:embed *.rego data/*.json
var FS embed.FS

// Query is the rule the authz module evaluates per request; its value is
// the decision object documented in tiers.rego.
const Query = "data.docstrange.tiers.decision"

// TiersFile is the tier data in FS. Its whole JSON object is mounted at
// DataPath, so `opa test` needs the same mount:
// opa test policy/*.rego tiers:policy/data/tiers.json
const TiersFile = "data/tiers.json"

// DataPath is where TiersFile is mounted under data, as a storage path:
// data.tiers, outside the rules' own package data.docstrange.tiers.
const DataPath = "/tiers"
