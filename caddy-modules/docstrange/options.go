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
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			return o, optionsJSONError(err)
		}
		if dec.More() {
			return o, Invalid("options", "the options hold more than one JSON value")
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
	msg := err.Error()
	if field, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		field = strings.Trim(field, `"`)
		return Invalid(field, "unknown option %q", field)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return Invalid(te.Field, "option %q must be a %s", te.Field, te.Type.String())
	}
	return Invalid("options", "the options field is not a JSON object: %v", err)
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
