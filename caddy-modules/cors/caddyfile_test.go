package cors

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddytest"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    Handler
		wantErr string
	}{
		{name: "bare: CORS off", input: `docstrange_cors`},
		{name: "empty block", input: "docstrange_cors {\n}"},
		{
			name: "full block",
			input: `docstrange_cors {
				origins https://a.example https://b.example
				methods GET POST
				headers X-Custom
				expose X-Other
				credentials
				max_age 10m
			}`,
			want: Handler{
				AllowedOrigins:   []string{"https://a.example", "https://b.example"},
				AllowedMethods:   []string{"GET", "POST"},
				AllowedHeaders:   []string{"X-Custom"},
				ExposedHeaders:   []string{"X-Other"},
				AllowCredentials: true,
				MaxAge:           caddy.Duration(10 * time.Minute),
			},
		},
		{name: "origins inline", input: `docstrange_cors https://a.example https://b.example`, want: Handler{AllowedOrigins: []string{"https://a.example", "https://b.example"}}},
		{name: "comma-separated origins, as from an environment variable", input: `docstrange_cors https://a.example,https://b.example`, want: Handler{AllowedOrigins: []string{"https://a.example", "https://b.example"}}},
		{name: "quoted list with spaces", input: `docstrange_cors "https://a.example, https://b.example"`, want: Handler{AllowedOrigins: []string{"https://a.example", "https://b.example"}}},
		{name: "inline and block origins add up", input: "docstrange_cors https://a.example {\n origins https://b.example\n origins https://c.example\n}", want: Handler{AllowedOrigins: []string{"https://a.example", "https://b.example", "https://c.example"}}},
		{name: "empty origins: CORS off", input: "docstrange_cors {\n origins\n max_age 1m\n}", want: Handler{MaxAge: caddy.Duration(time.Minute)}},
		{name: "comma-separated methods", input: "docstrange_cors {\n methods GET,POST\n}", want: Handler{AllowedMethods: []string{"GET", "POST"}}},
		{name: "unknown option", input: "docstrange_cors {\n origin https://a.example\n}", wantErr: `unknown docstrange_cors option "origin"`},
		{name: "credentials takes no argument", input: "docstrange_cors {\n credentials true\n}", wantErr: "wrong argument count"},
		{name: "methods need an argument", input: "docstrange_cors {\n methods\n}", wantErr: "wrong argument count"},
		{name: "max_age needs an argument", input: "docstrange_cors {\n max_age\n}", wantErr: "wrong argument count"},
		{name: "max_age takes one argument", input: "docstrange_cors {\n max_age 1m 2m\n}", wantErr: "wrong argument count"},
		{name: "max_age must be a duration", input: "docstrange_cors {\n max_age soon\n}", wantErr: `max_age "soon"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Handler
			err := got.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("UnmarshalCaddyfile: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestCaddyfileAdapt adapts each testdata/*.caddyfiletest: a Caddyfile, a
// line of dashes, then the JSON it must adapt to, or a part of the error it
// must fail with.
func TestCaddyfileAdapt(t *testing.T) {
	t.Setenv("DOCSTRANGE_CORS_TEST_ORIGINS", "https://a.example,https://b.example")
	files, err := filepath.Glob("testdata/*.caddyfiletest")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			input, expected, ok := strings.Cut(string(data), "----------")
			if !ok {
				t.Fatalf("%s: no ---------- separator", file)
			}
			input, expected = strings.TrimSpace(input)+"\n", strings.TrimSpace(expected)
			if strings.HasPrefix(expected, "{") {
				if !caddytest.CompareAdapt(t, file, input, "caddyfile", expected) {
					t.Fatalf("%s did not adapt to the expected JSON", file)
				}
				return
			}
			_, _, err = caddyconfig.GetAdapter("caddyfile").Adapt([]byte(input), nil)
			if err == nil || !strings.Contains(err.Error(), expected) {
				t.Fatalf("err = %v, want one containing %q", err, expected)
			}
		})
	}
}
