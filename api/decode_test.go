package api

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestDecodeJSON(t *testing.T) {
	type target struct {
		A string `json:"a"`
		N int    `json:"n"`
	}
	tests := []struct {
		name    string
		in      string
		want    target
		unknown string // the field an *UnknownFieldError names
		is      error
		fails   bool
	}{
		{name: "one object", in: `{"a":"x","n":2}`, want: target{A: "x", N: 2}},
		{name: "white space after it", in: "{\"a\":\"x\"} \n\t", want: target{A: "x"}},
		{name: "unknown field", in: `{"a":"x","colour":"red"}`, unknown: "colour"},
		{name: "a second value", in: `{"a":"x"} {"a":"y"}`, is: ErrTrailingJSON},
		{name: "a stray brace", in: `{"a":"x"}}`, is: ErrTrailingJSON},
		{name: "trailing text", in: `{"a":"x"} garbage`, is: ErrTrailingJSON},
		{name: "empty", in: ``, is: io.EOF},
		{name: "wrong type", in: `{"n":"two"}`, fails: true},
		{name: "cut short", in: `{"a":`, fails: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got target
			err := DecodeJSON(strings.NewReader(tt.in), &got)
			var uf *UnknownFieldError
			switch {
			case tt.unknown != "":
				if !errors.As(err, &uf) || uf.Field != tt.unknown {
					t.Fatalf("err = %v, want unknown field %q", err, tt.unknown)
				}
			case tt.is != nil:
				if !errors.Is(err, tt.is) {
					t.Fatalf("err = %v, want %v", err, tt.is)
				}
			case tt.fails:
				if err == nil || errors.As(err, &uf) || errors.Is(err, ErrTrailingJSON) {
					t.Fatalf("err = %v, want encoding/json's own", err)
				}
			default:
				if err != nil || got != tt.want {
					t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
				}
			}
		})
	}
}
