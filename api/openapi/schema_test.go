package openapi_test

import (
	"encoding/json"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/api/openapi"
	"github.com/docstrange/mesh/auth"
	"github.com/docstrange/mesh/auth/tiers"
	"github.com/docstrange/mesh/scheduler"
)

// TestSchemasMatchGoTypes compares each schema with the Go type the edge
// encodes it from: the same property names, and required exactly where
// the field is always written (no omitempty or omitzero), nested objects
// and array items included.
func TestSchemasMatchGoTypes(t *testing.T) {
	raw, err := fs.ReadFile(openapi.FS, openapi.File)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		// path is the schema's place under components/schemas.
		path []string
		typ  any
	}{
		{name: "error envelope", path: []string{"Error"}, typ: api.Envelope{}},
		{name: "job", path: []string{"Job"}, typ: api.Job{}},
		{name: "job list", path: []string{"JobList"}, typ: api.JobList{}},
		{name: "health", path: []string{"Health"}, typ: api.Health{}},
		{name: "options", path: []string{"Options"}, typ: scheduler.Options{}},
		{name: "result document", path: []string{"ResultDocument"}, typ: scheduler.Document{}},
		{name: "me identity", path: []string{"Me", "properties", "identity"}, typ: auth.Identity{}},
		{name: "me limits", path: []string{"Me", "properties", "limits"}, typ: tiers.Limits{}},
		{name: "webhook deliveries", path: []string{"WebhookDeliveries"}, typ: api.WebhookDeliveries{}},
		{name: "batch", path: []string{"Batch"}, typ: api.Batch{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s any = doc["components"].(map[string]any)["schemas"]
			for _, p := range tt.path {
				s = s.(map[string]any)[p]
			}
			if s == nil {
				t.Fatalf("no schema at %v", tt.path)
			}
			compare(t, doc, s.(map[string]any), reflect.TypeOf(tt.typ), strings.Join(tt.path, "."))
		})
	}
}

// deref follows a schema's local $ref.
func deref(doc map[string]any, s map[string]any) map[string]any {
	for {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		var node any = doc
		for _, p := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			node = node.(map[string]any)[p]
		}
		s = node.(map[string]any)
	}
}

type jsonField struct {
	name     string
	optional bool
	typ      reflect.Type
}

func jsonFields(typ reflect.Type) []jsonField {
	var out []jsonField
	for f := range typ.Fields() {
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		optional := slices.ContainsFunc(strings.Split(opts, ","), func(o string) bool { return o == "omitempty" || o == "omitzero" })
		out = append(out, jsonField{name: name, optional: optional, typ: f.Type})
	}
	return out
}

func compare(t *testing.T, doc, schema map[string]any, typ reflect.Type, where string) {
	t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	schema = deref(doc, schema)
	switch {
	case typ == reflect.TypeFor[time.Time]():
		if schema["format"] != "date-time" {
			t.Errorf("%s: a time, documented without format date-time", where)
		}
	case typ.Kind() == reflect.Struct:
		props, _ := schema["properties"].(map[string]any)
		var required []string
		for _, r := range asSlice(schema["required"]) {
			required = append(required, r.(string))
		}
		fields := jsonFields(typ)
		for _, f := range fields {
			p, ok := props[f.name].(map[string]any)
			if !ok {
				t.Errorf("%s: %s.%s (%q) is not documented", where, typ.Name(), f.name, f.name)
				continue
			}
			if req := slices.Contains(required, f.name); req == f.optional {
				t.Errorf("%s.%s: required is %v, but the Go field is always written: %v", where, f.name, req, !f.optional)
			}
			compare(t, doc, p, f.typ, where+"."+f.name)
		}
		for name := range props {
			if !slices.ContainsFunc(fields, func(f jsonField) bool { return f.name == name }) {
				t.Errorf("%s: documents %q, which %s does not have", where, name, typ)
			}
		}
	case typ.Kind() == reflect.Slice && typ.Elem().Kind() != reflect.Uint8:
		items, ok := schema["items"].(map[string]any)
		if !ok {
			t.Errorf("%s: a list, documented without items", where)
			return
		}
		compare(t, doc, items, typ.Elem(), where+"[]")
	case typ.Kind() == reflect.Map:
		if values, ok := schema["additionalProperties"].(map[string]any); ok {
			compare(t, doc, values, typ.Elem(), where+"{}")
		}
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
