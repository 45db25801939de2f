package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrTrailingJSON: the input holds something after its JSON value.
var ErrTrailingJSON = errors.New("more than one JSON value")

// UnknownFieldError names a field the target type does not have.
type UnknownFieldError struct{ Field string }

func (e *UnknownFieldError) Error() string { return fmt.Sprintf("unknown field %q", e.Field) }

// DecodeJSON decodes exactly one JSON value from r into v: an unknown field
// is an *UnknownFieldError and anything but white space after the value is
// ErrTrailingJSON, so a request body is never taken at its first value
// alone. Other errors are encoding/json's.
func DecodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// encoding/json has no type for this error, only its text.
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return &UnknownFieldError{Field: strings.Trim(f, `"`)}
		}
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return ErrTrailingJSON
	}
	return nil
}
