// Package openapi holds the OpenAPI 3.1 document of the public API
// (/api/v1). It is written by hand, next to the code it describes, and
// embedded so the edge's docstrange_docs module serves it from the binary.
// Tests keep it honest: an npm validator checks it against the
// specification, and the served routes and error codes are compared with
// it, both in process and against a running edge.
package openapi

import "embed"

// FS holds the document, File, with paths relative to this folder.
//
//go:embed openapi.json
var FS embed.FS

// File is the document in FS.
const File = "openapi.json"
