package docstrange

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/scheduler"
)

// ParseOptions reads the options JSON field or the separate fields, not
// both, and validates them.
func ParseOptions(fields map[string]string) (scheduler.Options, *api.Error) {
	var o scheduler.Options
	if raw, ok := fields["options"]; ok {
		for name := range fields {
			if name != "options" {
				return o, Invalid(name, "give options either as the JSON field \"options\" or as separate fields, not both")
			}
		}
		if err := api.DecodeJSON(strings.NewReader(raw), &o); err != nil {
			return o, optionsJSONError(err)
		}
	} else {
		o.OutputFormats = splitList(fields["output_formats"])
		o.Pages = strings.TrimSpace(fields["pages"])
		o.OCR = strings.TrimSpace(fields["ocr"])
		o.Languages = splitList(fields["languages"])
		o.Device = strings.TrimSpace(fields["device"])
	}
	if err := o.Normalize(); err != nil {
		var fe *scheduler.FieldError
		if errors.As(err, &fe) {
			return o, Invalid(fe.Field, "%s", fe.Error()).With("value", fe.Value)
		}
		return o, Invalid("options", "%v", err)
	}
	return o, nil
}

func optionsJSONError(err error) *api.Error {
	if uf := (*api.UnknownFieldError)(nil); errors.As(err, &uf) {
		return Invalid(uf.Field, "unknown option %q", uf.Field)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return Invalid(te.Field, "option %q must be a %s", te.Field, te.Type.String())
	}
	return Invalid("options", "the options field is not one JSON object: %v", err)
}

func splitList(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
