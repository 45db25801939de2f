package extract

import (
	"bytes"
	"os"
	"testing"
)

func TestDetect(t *testing.T) {
	hello, err := os.ReadFile("testdata/hello.pdf")
	if err != nil {
		t.Fatal(err)
	}
	bmp := []byte("BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00")
	tests := []struct {
		name  string
		head  []byte
		kind  Kind
		media string
	}{
		{"pdf fixture", hello, KindPDF, MediaTypePDF},
		{"pdf header at start", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), KindPDF, MediaTypePDF},
		{"pdf header after junk", append(bytes.Repeat([]byte{0xAA}, 900), "%PDF-1.4"...), KindPDF, MediaTypePDF},
		{"pdf header past 1024 bytes", append(bytes.Repeat([]byte{0xAA}, 1100), "%PDF-1.4"...), KindUnknown, MediaTypeUnknown},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), KindImage, MediaTypePNG},
		{"jpeg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), KindImage, MediaTypeJPEG},
		{"tiff little endian", []byte("II*\x00\x08\x00\x00\x00"), KindImage, MediaTypeTIFF},
		{"tiff big endian", []byte("MM\x00*\x00\x00\x00\x08"), KindImage, MediaTypeTIFF},
		{"bmp", bmp, KindImage, MediaTypeBMP},
		{"text starting with BM", []byte("BMW and Audi are car makers.\n"), KindText, MediaTypeText},
		{"webp", []byte("RIFF\x24\x00\x00\x00WEBPVP8 "), KindImage, MediaTypeWebP},
		{"riff but not webp", []byte("RIFF\x24\x00\x00\x00WAVEfmt "), KindUnknown, MediaTypeUnknown},
		{"gif87a", []byte("GIF87a\x01\x00\x01\x00"), KindImage, MediaTypeGIF},
		{"gif89a", []byte("GIF89a\x01\x00\x01\x00"), KindImage, MediaTypeGIF},
		{"plain text", []byte("Dear team,\n\nthe report is attached.\nRegards\n"), KindText, MediaTypeText},
		{"text with BOM", []byte("\xEF\xBB\xBFhello world\n"), KindText, MediaTypeText},
		{"utf-8 text", []byte("Grüße aus Köln — 東京\n"), KindText, MediaTypeText},
		{"head cut inside a rune", []byte("caf\xc3"), KindText, MediaTypeText},
		{"markdown heading and list", []byte("# Title\n\nSome text.\n\n- one\n- two\n"), KindText, MediaTypeMarkdown},
		{"markdown fence", []byte("Run this:\n\n```sh\nmake run\n```\n"), KindText, MediaTypeMarkdown},
		{"markdown setext", []byte("Title\n=====\n\nBody.\n"), KindText, MediaTypeMarkdown},
		{"markdown links", []byte("See [docs](https://x.y) and [api](https://x.y/api).\n"), KindText, MediaTypeMarkdown},
		{"one list item is not markdown", []byte("Shopping:\n- milk\n"), KindText, MediaTypeText},
		{"hashtag is not a heading", []byte("#golang is fun\n"), KindText, MediaTypeText},
		{"nul byte", []byte("abc\x00def"), KindUnknown, MediaTypeUnknown},
		{"invalid utf-8", []byte("abc\xff\xfedef ghi"), KindUnknown, MediaTypeUnknown},
		{"control characters", []byte("\x01\x02\x03\x04 binary \x05\x06\x07\x08"), KindUnknown, MediaTypeUnknown},
		{"empty", nil, KindUnknown, MediaTypeUnknown},
		{"zip", []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), KindUnknown, MediaTypeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, media := Detect(tt.head)
			if kind != tt.kind || media != tt.media {
				t.Errorf("Detect() = %q, %q; want %q, %q", kind, media, tt.kind, tt.media)
			}
		})
	}
}
