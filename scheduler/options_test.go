package scheduler

import (
	"errors"
	"slices"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name  string
		in    Options
		field string
		check func(t *testing.T, o Options)
	}{
		{name: "defaults", check: func(t *testing.T, o Options) {
			if !slices.Equal(o.OutputFormats, []string{FormatMarkdown}) || o.OCR != OCRAuto || o.Device != DeviceAuto {
				t.Fatalf("defaults: %+v", o)
			}
		}},
		{name: "formats lower-cased and de-duplicated", in: Options{OutputFormats: []string{"JSON", "markdown", "json"}}, check: func(t *testing.T, o Options) {
			if !slices.Equal(o.OutputFormats, []string{"json", "markdown"}) {
				t.Fatalf("formats: %v", o.OutputFormats)
			}
		}},
		{name: "unknown format", in: Options{OutputFormats: []string{"docx"}}, field: "output_formats"},
		{name: "bad pages", in: Options{Pages: "3-1"}, field: "pages"},
		{name: "bad ocr", in: Options{OCR: "maybe"}, field: "ocr"},
		{name: "bad device", in: Options{Device: "tpu"}, field: "device"},
		{name: "bad language", in: Options{Languages: []string{"EN!"}}, field: "languages"},
		{name: "too many languages", in: Options{Languages: []string{"a1", "b", "c", "d", "e", "f", "g", "h", "i"}}, field: "languages"},
		{name: "webhook not http", in: Options{Webhook: &Webhook{URL: "ftp://x"}}, field: "webhook.url"},
		{name: "valid full set", in: Options{OutputFormats: []string{"html"}, Pages: "1-3,7", OCR: "off", Languages: []string{"en", "chi_sim"}, Device: "cpu", Webhook: &Webhook{URL: "https://h.example/x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.in
			err := o.Normalize()
			var fe *FieldError
			if tt.field == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if tt.check != nil {
					tt.check(t, o)
				}
				return
			}
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("err = %v, want field %q", err, tt.field)
			}
		})
	}
}

func TestSelectPages(t *testing.T) {
	tests := []struct {
		name    string
		spec    string
		total   int
		want    []int
		wantErr bool
	}{
		{name: "all", spec: "", total: 3, want: []int{1, 2, 3}},
		{name: "ranges merged and sorted", spec: "7, 1-3,2", total: 9, want: []int{1, 2, 3, 7}},
		{name: "single", spec: "2", total: 2, want: []int{2}},
		{name: "past the end", spec: "1-4", total: 3, wantErr: true},
		{name: "zero", spec: "0", total: 3, wantErr: true},
		{name: "reversed", spec: "3-1", total: 3, wantErr: true},
		{name: "empty part", spec: "1,,2", total: 3, wantErr: true},
		{name: "garbage", spec: "one", total: 3, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SelectPages(tt.spec, tt.total)
			if (err != nil) != tt.wantErr || !tt.wantErr && !slices.Equal(got, tt.want) {
				t.Fatalf("SelectPages(%q, %d) = %v, %v", tt.spec, tt.total, got, err)
			}
		})
	}
}

func TestCloneIsDeep(t *testing.T) {
	j := &Job{Options: Options{OutputFormats: []string{"json"}, Languages: []string{"en"}, Webhook: &Webhook{URL: "u"}}, Error: &JobError{Code: "X"}}
	c := j.Clone()
	c.Options.OutputFormats[0] = "html"
	c.Options.Languages[0] = "de"
	c.Options.Webhook.URL = "v"
	c.Error.Code = "Y"
	if j.Options.OutputFormats[0] != "json" || j.Options.Languages[0] != "en" || j.Options.Webhook.URL != "u" || j.Error.Code != "X" {
		t.Fatalf("clone shares state: %+v", j)
	}
	if !StatusSucceeded.Terminal() || StatusRunning.Terminal() {
		t.Fatal("Terminal is wrong")
	}
}
