package render

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docstrange/mesh/scheduler"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func loadDocument(t *testing.T) *scheduler.Document {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "document.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc scheduler.Document
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return &doc
}

// TestGolden renders testdata/document.json in every format and compares
// with testdata/golden.<ext>. Run with -update after an intended change.
func TestGolden(t *testing.T) {
	doc := loadDocument(t)
	tests := []struct {
		format, file, contentType string
	}{
		{scheduler.FormatMarkdown, "golden.md", ContentTypeMarkdown},
		{scheduler.FormatText, "golden.txt", ContentTypeText},
		{scheduler.FormatHTML, "golden.html", ContentTypeHTML},
		{scheduler.FormatJSON, "golden.json", ContentTypeJSON},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			got, ct, err := Render(doc, tt.format)
			if err != nil {
				t.Fatal(err)
			}
			if ct != tt.contentType {
				t.Errorf("content type %q, want %q", ct, tt.contentType)
			}
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", tt.format, got, want)
			}
		})
	}
}

func TestRender(t *testing.T) {
	doc := &scheduler.Document{PageCount: 1, Pages: []scheduler.Page{{Number: 1}}}
	tests := []struct {
		name    string
		doc     *scheduler.Document
		format  string
		wantCT  string
		wantErr error
	}{
		{name: "markdown", doc: doc, format: "markdown", wantCT: ContentTypeMarkdown},
		{name: "text", doc: doc, format: "text", wantCT: ContentTypeText},
		{name: "html", doc: doc, format: "html", wantCT: ContentTypeHTML},
		{name: "json", doc: doc, format: "json", wantCT: ContentTypeJSON},
		{name: "case and blanks", doc: doc, format: " Markdown ", wantCT: ContentTypeMarkdown},
		{name: "unknown", doc: doc, format: "pdf", wantErr: ErrUnknownFormat},
		{name: "empty", doc: doc, format: "", wantErr: ErrUnknownFormat},
		{name: "nil document", doc: nil, format: "markdown", wantErr: ErrNoDocument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, ct, err := Render(tt.doc, tt.format)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if ct != tt.wantCT {
				t.Errorf("content type %q, want %q", ct, tt.wantCT)
			}
			if tt.wantErr == nil && b == nil {
				t.Error("no bytes")
			}
		})
	}
}

func doc1(mediaType string, blocks ...scheduler.Block) *scheduler.Document {
	return &scheduler.Document{MediaType: mediaType, PageCount: 1, Pages: []scheduler.Page{{Number: 1, Blocks: blocks}}}
}

func text(s string) scheduler.Block {
	return scheduler.Block{Type: scheduler.BlockText, Text: s, Confidence: 1, Source: scheduler.SourceTextLayer}
}

func heading(level int, s string) scheduler.Block {
	return scheduler.Block{Type: scheduler.BlockHeading, Text: s, Level: level, Confidence: 1, Source: scheduler.SourceTextLayer}
}

func plain(b scheduler.Block) scheduler.Block {
	b.Source = scheduler.SourcePlain
	return b
}

func TestMarkdown(t *testing.T) {
	tests := []struct {
		name string
		doc  *scheduler.Document
		want string
	}{
		{"heading and paragraphs", doc1("application/pdf", heading(1, "Title"), text("One."), text("Two.")), "# Title\n\nOne.\n\nTwo.\n"},
		{"heading levels clamp", doc1("", heading(0, "a"), heading(9, "b")), "# a\n\n###### b\n"},
		{"heading joins lines", doc1("", heading(2, "a\n  b")), "## a b\n"},
		{"heading trailing hash", doc1("", heading(1, "Issue #")), "# Issue \\#\n"},
		{"atx heading escaped", doc1("", text("# no")), "\\# no\n"},
		{"bullets escaped", doc1("", text("- a\n+ b\n* c\n-")), "\\- a\n\\+ b\n\\* c\n\\-\n"},
		{"hyphenated word untouched", doc1("", text("-5 degrees")), "-5 degrees\n"},
		{"ordered escaped", doc1("", text("1. a\n12) b\n2024. year\n3.5 kg")), "1\\. a\n12\\) b\n2024\\. year\n3.5 kg\n"},
		{"quote, table, link definition", doc1("", text("> q\n| a |\n[1]: x")), "\\> q\n\\| a |\n\\[1]: x\n"},
		{"fences", doc1("", text("```go\n~~~")), "\\```go\n\\~~~\n"},
		{"rules and underlines", doc1("", text("Title\n===\n--\n***\n_ _ _")), "Title\n\\===\n\\--\n\\***\n\\_ _ _\n"},
		{"indent would be code", doc1("", text("    code?\n\tx")), "code?\nx\n"},
		{"html escaped", doc1("", text("a <b>bold</b> <!-- c --> 1 < 2")), "a \\<b>bold\\</b> \\<!-- c --> 1 < 2\n"},
		{"empty blocks skipped", doc1("", text("  "), text("x")), "x\n"},
		{"single page has no marker", doc1("", text("x")), "x\n"},
		{
			"markdown source passes through",
			doc1("text/markdown", plain(heading(2, "Setup")), plain(text("- one\n- two")), plain(text("```sh\nmake\n\nrun\n```"))),
			"## Setup\n\n- one\n- two\n\n```sh\nmake\n\nrun\n```\n",
		},
		{"plain text source is escaped", doc1("text/plain", plain(text("# x"))), "\\# x\n"},
		{
			"pages marked",
			&scheduler.Document{PageCount: 3, Pages: []scheduler.Page{
				{Number: 1, Blocks: []scheduler.Block{text("a")}},
				{Number: 3, Warnings: []string{"odd --> warning-"}},
			}},
			"<!-- page 1 -->\n\na\n\n<!-- page 3 -->\n\n<!-- warning: odd - -> warning -->\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(Markdown(tt.doc)); got != tt.want {
				t.Errorf("Markdown:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestText(t *testing.T) {
	tests := []struct {
		name string
		doc  *scheduler.Document
		want string
	}{
		{"blocks", doc1("", heading(1, "T\nitle"), text(" a\nb "), text("")), "T itle\n\na\nb\n"},
		{"no escaping", doc1("", text("# <b> & -")), "# <b> & -\n"},
		{
			"pages split by form feed",
			&scheduler.Document{Pages: []scheduler.Page{{Blocks: []scheduler.Block{text("a")}}, {}, {Blocks: []scheduler.Block{text("c")}}}},
			"a\n\f\n\f\nc\n",
		},
		{"empty", &scheduler.Document{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(Text(tt.doc)); got != tt.want {
				t.Errorf("Text:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestHTMLEscapes(t *testing.T) {
	evil := `<script>alert("x")</script>`
	doc := &scheduler.Document{
		Filename: evil,
		Pages: []scheduler.Page{{
			Number:   1,
			Warnings: []string{evil},
			Blocks: []scheduler.Block{
				text(evil),
				heading(1, evil),
				{Type: `"><script>`, Text: evil, Source: `"><script>`},
			},
		}},
	}
	out := string(HTML(doc))
	if strings.Contains(out, "<script") {
		t.Errorf("unescaped <script> in:\n%s", out)
	}
	for _, want := range []string{
		"<!DOCTYPE html>", "<meta charset=\"utf-8\">", "</html>\n",
		"<title>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</title>",
		"<p data-source=\"text_layer\">&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</p>",
		"<h1 data-source=\"text_layer\">&lt;script&gt;",
		"class=\"&#34;&gt;&lt;script&gt;\" data-source=\"&#34;&gt;&lt;script&gt;\"",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("HTML lacks %q:\n%s", want, out)
		}
	}
}

func TestHTMLTitle(t *testing.T) {
	tests := []struct {
		name string
		doc  *scheduler.Document
		want string
	}{
		{"first heading", &scheduler.Document{Filename: "f.pdf", Pages: []scheduler.Page{{Blocks: []scheduler.Block{text("x"), heading(2, "Head")}}}}, "<title>Head</title>"},
		{"file name", &scheduler.Document{Filename: "f.pdf"}, "<title>f.pdf</title>"},
		{"fallback", &scheduler.Document{}, "<title>Document</title>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if out := string(HTML(tt.doc)); !strings.Contains(out, tt.want) {
				t.Errorf("HTML lacks %q:\n%s", tt.want, out)
			}
		})
	}
}

func TestJSONEmptyLists(t *testing.T) {
	b, err := JSON(&scheduler.Document{Pages: []scheduler.Page{{Number: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"blocks": []`) {
		t.Errorf("blocks not rendered as []:\n%s", b)
	}
	b, err = JSON(&scheduler.Document{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"pages": []`) {
		t.Errorf("pages not rendered as []:\n%s", b)
	}
}
