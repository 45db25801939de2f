package extract

import (
	"testing"

	"github.com/docstrange/mesh/scheduler"
)

func TestExtractText(t *testing.T) {
	type blk struct {
		typ   string
		text  string
		level int
	}
	tests := []struct {
		name      string
		in        string
		mediaType string
		wantMedia string
		want      []blk
	}{
		{
			name: "paragraphs on blank lines", in: "First line\nstill first.\n\n\nSecond.  \n   \nThird.\n",
			mediaType: MediaTypeText, wantMedia: MediaTypeText,
			want: []blk{{"text", "First line\nstill first.", 0}, {"text", "Second.", 0}, {"text", "Third.", 0}},
		},
		{
			name: "crlf and bom", in: "\xEF\xBB\xBFa\r\nb\r\n\r\nc",
			mediaType: MediaTypeText, wantMedia: MediaTypeText,
			want: []blk{{"text", "a\nb", 0}, {"text", "c", 0}},
		},
		{
			name: "plain text keeps hashes as text", in: "# not a heading\n",
			mediaType: MediaTypeText, wantMedia: MediaTypeText,
			want: []blk{{"text", "# not a heading", 0}},
		},
		{
			name: "unknown media type is plain", in: "x", mediaType: "", wantMedia: MediaTypeText,
			want: []blk{{"text", "x", 0}},
		},
		{
			name: "markdown headings", in: "# Title\nIntro text.\n\n## Part two ##\n\nBody.\n",
			mediaType: MediaTypeMarkdown, wantMedia: MediaTypeMarkdown,
			want: []blk{{"heading", "Title", 1}, {"text", "Intro text.", 0}, {"heading", "Part two", 2}, {"text", "Body.", 0}},
		},
		{
			name: "markdown fence keeps blank lines", in: "Code:\n\n```go\nfunc a() {}\n\nfunc b() {}\n```\n\nAfter.\n",
			mediaType: MediaTypeMarkdown, wantMedia: MediaTypeMarkdown,
			want: []blk{{"text", "Code:", 0}, {"text", "```go\nfunc a() {}\n\nfunc b() {}\n```", 0}, {"text", "After.", 0}},
		},
		{
			name: "markdown hashtag is not a heading", in: "#tag\n",
			mediaType: MediaTypeMarkdown, wantMedia: MediaTypeMarkdown,
			want: []blk{{"text", "#tag", 0}},
		},
		{name: "empty", in: "", mediaType: MediaTypeText, wantMedia: MediaTypeText, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := ExtractText([]byte(tt.in), tt.mediaType)
			if doc.MediaType != tt.wantMedia || doc.PageCount != 1 || len(doc.Pages) != 1 {
				t.Fatalf("got media %q, %d pages (%d in result)", doc.MediaType, doc.PageCount, len(doc.Pages))
			}
			got := doc.Pages[0].Blocks
			if got == nil {
				t.Fatal("Blocks is nil; want an empty slice so JSON has []")
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d blocks %+v, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Type != w.typ || g.Text != w.text || g.Level != w.level {
					t.Errorf("block %d = {%q %q %d}, want {%q %q %d}", i, g.Type, g.Text, g.Level, w.typ, w.text, w.level)
				}
				if g.Source != scheduler.SourcePlain || g.BBox != nil || g.Confidence != 1 {
					t.Errorf("block %d: source %q, bbox %v, confidence %v", i, g.Source, g.BBox, g.Confidence)
				}
			}
		})
	}
}

func TestExtractTextRepairsBadBytes(t *testing.T) {
	doc := ExtractText([]byte("a\x00b \xff c \xe2\x82"), MediaTypeText)
	if got := doc.Pages[0].Blocks[0].Text; got != "ab \uFFFD c \uFFFD" {
		t.Errorf("text = %q, want NULs dropped and invalid bytes replaced", got)
	}
}
