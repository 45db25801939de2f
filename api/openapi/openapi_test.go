package openapi_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/docstrange/mesh/api/openapi"
)

func load(t *testing.T) *openapi.Document {
	t.Helper()
	doc, err := openapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// apiCodes reads every Code* constant of package api from its source, so a
// code added there without being documented fails here.
func apiCodes(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Code") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("%s is not a string literal", name.Name)
				}
				v, _ := strconv.Unquote(lit.Value)
				codes = append(codes, v)
			}
		}
	}
	if len(codes) < 20 {
		t.Fatalf("found only %d codes in api/errors.go; did the file move?", len(codes))
	}
	return codes
}

// TestErrorCodesMatchAPI: the ErrorCode enum is exactly api's codes.
func TestErrorCodesMatchAPI(t *testing.T) {
	doc := load(t)
	want := apiCodes(t)
	for _, c := range want {
		if !slices.Contains(doc.ErrorCodes, c) {
			t.Errorf("api code %s is missing from the ErrorCode enum", c)
		}
	}
	for _, c := range doc.ErrorCodes {
		if !slices.Contains(want, c) {
			t.Errorf("ErrorCode enum has %s, which api/errors.go does not define", c)
		}
	}
}

// TestErrorResponses: every error answer lists its codes, from the enum,
// and its body is the envelope. Exceptions are explicit in the document:
// a HEAD answer has no body, and an empty x-error-codes marks an error
// status whose body is something else (health's 503).
func TestErrorResponses(t *testing.T) {
	doc := load(t)
	if len(doc.Operations) < 20 {
		t.Fatalf("only %d operations parsed", len(doc.Operations))
	}
	for _, op := range doc.Operations {
		if op.ID == "" {
			t.Errorf("%s %s has no operationId", op.Method, op.Path)
		}
		if len(op.Responses) == 0 {
			t.Errorf("%s %s documents no response", op.Method, op.Path)
		}
		for status, r := range op.Responses {
			where := op.Method + " " + op.Path + " " + status
			code, err := strconv.Atoi(status)
			if err != nil {
				t.Errorf("%s: status must be a number, not a range or default", where)
				continue
			}
			if code < 400 {
				if r.Listed || r.Envelope {
					t.Errorf("%s: a success answer lists error codes or the envelope", where)
				}
				continue
			}
			switch {
			case !r.Listed:
				t.Errorf("%s: no x-error-codes", where)
			case len(r.ErrorCodes) == 0 && r.Envelope:
				t.Errorf("%s: an envelope answer with an empty x-error-codes", where)
			case len(r.ErrorCodes) > 0 && !r.Envelope && op.Method != "HEAD":
				t.Errorf("%s: lists error codes but its body is not the Error schema", where)
			case op.Method == "HEAD" && r.Envelope:
				t.Errorf("%s: a HEAD answer has no body", where)
			}
			for _, c := range r.ErrorCodes {
				if !slices.Contains(doc.ErrorCodes, c) {
					t.Errorf("%s: x-error-codes has %s, which is not in the ErrorCode enum", where, c)
				}
			}
		}
	}
}

// TestParse covers the reader on small documents: references resolve,
// x-error-codes and the envelope are seen, and a reference that does not
// resolve is an error rather than a silently empty response.
func TestParse(t *testing.T) {
	const ok = `{"paths":{"/a/{id}":{"parameters":[],"get":{"operationId":"getA","security":[],"responses":{
		"200":{"description":"ok"},
		"404":{"$ref":"#/components/responses/NotFound"}}}}},
		"components":{"responses":{"NotFound":{"description":"no","x-error-codes":["NOT_FOUND"],
		"content":{"application/json":{"schema":{"$ref":"#/components/schemas/Error"}}}}},
		"schemas":{"ErrorCode":{"enum":["NOT_FOUND"]}}}}`
	tests := []struct {
		name    string
		doc     string
		wantErr string
	}{
		{name: "resolves", doc: ok},
		{name: "broken reference", doc: strings.Replace(ok, `"$ref":"#/components/responses/NotFound"`, `"$ref":"#/components/responses/Gone"`, 1), wantErr: "unresolvable"},
		{name: "not json", doc: "{", wantErr: "decoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := openapi.Parse([]byte(tt.doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			op, found := doc.Operation("GET", "/a/{id}")
			if !found || op.ID != "getA" || !op.Public || len(doc.Operations) != 1 {
				t.Fatalf("operations %+v", doc.Operations)
			}
			nf := op.Responses["404"]
			if !nf.Listed || !nf.Envelope || !slices.Equal(nf.ErrorCodes, []string{"NOT_FOUND"}) {
				t.Fatalf("404 %+v", nf)
			}
			if r := op.Responses["200"]; r.Listed || r.Envelope {
				t.Fatalf("200 %+v", r)
			}
			if !slices.Equal(doc.Patterns(), []string{"GET /a/{id}"}) || !slices.Equal(doc.ErrorCodes, []string{"NOT_FOUND"}) {
				t.Fatalf("patterns %v, codes %v", doc.Patterns(), doc.ErrorCodes)
			}
		})
	}
}
