package openapi

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

// Operation is one documented method on one path.
type Operation struct {
	// Method is upper case, as on the wire.
	Method string
	// Path is the document's path template, such as /api/v1/jobs/{id}.
	Path string
	// ID is the operationId.
	ID string
	// Public is true when the operation overrides the document's security
	// with none: credentials are not checked.
	Public bool
	// Responses are the documented answers by status code ("200", "404").
	Responses map[string]Response
}

// Response is one documented answer, with its $ref resolved.
type Response struct {
	// ErrorCodes is the response's x-error-codes: the error codes its
	// body can carry.
	ErrorCodes []string
	// Listed is true when the response has x-error-codes at all; an empty
	// list says an error status whose body is not the error envelope.
	Listed bool
	// Envelope is true when the body is the Error schema.
	Envelope bool
}

// Document is what the documentation checks read from the document: its
// operations and its error vocabulary.
type Document struct {
	// Operations are sorted by path, then method.
	Operations []Operation
	// ErrorCodes is the enum of the ErrorCode schema.
	ErrorCodes []string
}

const (
	responseRefPrefix = "#/components/responses/"
	errorSchemaRef    = "#/components/schemas/Error"
)

type rawResponse struct {
	Ref        string    `json:"$ref"`
	ErrorCodes *[]string `json:"x-error-codes"`
	Content    map[string]struct {
		Schema struct {
			Ref string `json:"$ref"`
		} `json:"schema"`
	} `json:"content"`
}

type rawOperation struct {
	OperationID string                 `json:"operationId"`
	Security    *[]map[string][]string `json:"security"`
	Responses   map[string]rawResponse `json:"responses"`
}

type rawDocument struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Responses map[string]rawResponse `json:"responses"`
		Schemas   struct {
			ErrorCode struct {
				Enum []string `json:"enum"`
			} `json:"ErrorCode"`
		} `json:"schemas"`
	} `json:"components"`
}

// Load parses the embedded document.
func Load() (*Document, error) {
	raw, err := fs.ReadFile(FS, File)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", File, err)
	}
	return Parse(raw)
}

// Parse reads the operations and error codes of an OpenAPI document. It
// resolves response references within the document and fails on one that
// does not resolve.
func Parse(raw []byte) (*Document, error) {
	var doc rawDocument
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("decoding the OpenAPI document: %w", err)
	}
	out := &Document{ErrorCodes: doc.Components.Schemas.ErrorCode.Enum}
	for path, item := range doc.Paths {
		for _, m := range []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"} {
			body, ok := item[m]
			if !ok {
				continue
			}
			var op rawOperation
			if err := json.Unmarshal(body, &op); err != nil {
				return nil, fmt.Errorf("decoding %s %s: %w", strings.ToUpper(m), path, err)
			}
			o := Operation{
				Method:    strings.ToUpper(m),
				Path:      path,
				ID:        op.OperationID,
				Public:    op.Security != nil && len(*op.Security) == 0,
				Responses: map[string]Response{},
			}
			for status, r := range op.Responses {
				res, err := resolve(r, doc.Components.Responses)
				if err != nil {
					return nil, fmt.Errorf("%s %s response %s: %w", o.Method, path, status, err)
				}
				o.Responses[status] = res
			}
			out.Operations = append(out.Operations, o)
		}
	}
	sort.Slice(out.Operations, func(i, j int) bool {
		a, b := out.Operations[i], out.Operations[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Method < b.Method
	})
	return out, nil
}

func resolve(r rawResponse, components map[string]rawResponse) (Response, error) {
	if r.Ref != "" {
		name, ok := strings.CutPrefix(r.Ref, responseRefPrefix)
		target, found := components[name]
		if !ok || !found || target.Ref != "" {
			return Response{}, fmt.Errorf("unresolvable response reference %q", r.Ref)
		}
		r = target
	}
	res := Response{Listed: r.ErrorCodes != nil}
	if r.ErrorCodes != nil {
		res.ErrorCodes = *r.ErrorCodes
	}
	for _, c := range r.Content {
		if c.Schema.Ref == errorSchemaRef {
			res.Envelope = true
		}
	}
	return res, nil
}

// Patterns lists the documented operations as "METHOD /path", sorted.
func (d *Document) Patterns() []string {
	out := make([]string, 0, len(d.Operations))
	for _, o := range d.Operations {
		out = append(out, o.Method+" "+o.Path)
	}
	sort.Strings(out)
	return out
}

// Operation finds the operation of method on the path template path.
func (d *Document) Operation(method, path string) (Operation, bool) {
	for _, o := range d.Operations {
		if o.Method == method && o.Path == path {
			return o, true
		}
	}
	return Operation{}, false
}
