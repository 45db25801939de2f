package jobs

import (
	"strings"
	"testing"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name   string
		fields map[string]string
		field  string
		check  func(t *testing.T, formats []string, pages string)
	}{
		{name: "defaults", fields: map[string]string{}, check: func(t *testing.T, f []string, _ string) {
			if len(f) != 1 || f[0] != "markdown" {
				t.Fatalf("formats %v", f)
			}
		}},
		{name: "separate fields", fields: map[string]string{"output_formats": " json , html", "pages": "1-2"}, check: func(t *testing.T, f []string, p string) {
			if strings.Join(f, ",") != "json,html" || p != "1-2" {
				t.Fatalf("formats %v pages %q", f, p)
			}
		}},
		{name: "json options", fields: map[string]string{"options": `{"output_formats":["text"],"ocr":"off"}`}, check: func(t *testing.T, f []string, _ string) {
			if f[0] != "text" {
				t.Fatalf("formats %v", f)
			}
		}},
		{name: "both forms", fields: map[string]string{"options": `{}`, "pages": "1"}, field: "pages"},
		{name: "unknown json option", fields: map[string]string{"options": `{"colour":"red"}`}, field: "colour"},
		{name: "wrong json type", fields: map[string]string{"options": `{"pages":3}`}, field: "pages"},
		{name: "not json", fields: map[string]string{"options": `pages=3`}, field: "options"},
		{name: "two json values", fields: map[string]string{"options": `{"ocr":"off"} {"ocr":"force"}`}, field: "options"},
		{name: "bad device", fields: map[string]string{"device": "tpu"}, field: "device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, apiErr := parseOptions(tt.fields)
			if tt.field != "" {
				if apiErr == nil || apiErr.Details["field"] != tt.field || apiErr.Status != 400 {
					t.Fatalf("err = %+v, want field %q", apiErr, tt.field)
				}
				return
			}
			if apiErr != nil {
				t.Fatalf("unexpected error %+v", apiErr)
			}
			tt.check(t, o.OutputFormats, o.Pages)
		})
	}
}
