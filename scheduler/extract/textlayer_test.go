package extract

import (
	"testing"
)

func TestTextLayers(t *testing.T) {
	e := testEngine(t)
	var policy TextLayerPolicy
	if err := policy.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		file       string
		pages      []int
		usable     []bool
		scan       bool // image coverage near 1
		minChars   int  // of the first page
		maxChars   int
		minTextCov float64
	}{
		{name: "born-digital page", file: "hello.pdf", usable: []bool{true}, minChars: 150, maxChars: 300, minTextCov: 0.05},
		{name: "no text at all", file: "notext.pdf", usable: []bool{false}, maxChars: 0},
		{name: "scan with a page number only", file: "scan.pdf", usable: []bool{false}, scan: true, minChars: 3, maxChars: 3},
		{name: "scan with an OCR text layer", file: "scan-ocr.pdf", usable: []bool{true}, scan: true, minChars: 1000, maxChars: 2000, minTextCov: 0.25},
		{name: "selected pages", file: "pages.pdf", pages: []int{2, 3}, usable: []bool{true, true}, minChars: 16, maxChars: 40},
		{name: "rotated page", file: "rotated.pdf", usable: []bool{true}, minChars: 150, maxChars: 300, minTextCov: 0.05},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			layers, err := e.TextLayers(t.Context(), "testdata/"+tt.file, tt.pages)
			if err != nil {
				t.Fatal(err)
			}
			if len(layers) != len(tt.usable) {
				t.Fatalf("got %d layers, want %d", len(layers), len(tt.usable))
			}
			for i, l := range layers {
				t.Logf("%+v", l)
				if got := policy.Usable(l); got != tt.usable[i] {
					t.Errorf("page %d usable = %v, want %v", l.Page, got, tt.usable[i])
				}
			}
			l := layers[0]
			if tt.pages != nil && l.Page != tt.pages[0] {
				t.Errorf("first layer is page %d, want %d", l.Page, tt.pages[0])
			}
			if l.Chars < tt.minChars || l.Chars > tt.maxChars || l.Bad != 0 {
				t.Errorf("chars %d bad %d, want %d to %d and 0", l.Chars, l.Bad, tt.minChars, tt.maxChars)
			}
			if l.TextCoverage < tt.minTextCov || l.TextCoverage > 1 {
				t.Errorf("text coverage %g, want at least %g", l.TextCoverage, tt.minTextCov)
			}
			if scan := l.ImageCoverage > 0.95; scan != tt.scan {
				t.Errorf("image coverage %g, scan %v", l.ImageCoverage, tt.scan)
			}
		})
	}
}

func TestTextLayerPolicy(t *testing.T) {
	good := TextLayer{Chars: 500, TextCoverage: 0.7}
	tests := []struct {
		name   string
		layer  TextLayer
		usable bool
	}{
		{"ordinary page", good, true},
		{"empty", TextLayer{}, false},
		{"a few characters", TextLayer{Chars: 15, TextCoverage: 0.01}, false},
		{"just enough characters", TextLayer{Chars: 16, TextCoverage: 0.01}, true},
		{"mostly U+FFFD", TextLayer{Chars: 100, Bad: 400, TextCoverage: 0.7}, false},
		{"a little garbage", TextLayer{Chars: 950, Bad: 50, TextCoverage: 0.7}, true},
		{"scan with a stamp's worth of text", TextLayer{Chars: 40, TextCoverage: 0.02, ImageCoverage: 1}, false},
		{"scan with an OCR layer", TextLayer{Chars: 2000, TextCoverage: 0.8, ImageCoverage: 1}, true},
		{"small text beside a photo", TextLayer{Chars: 300, TextCoverage: 0.1, ImageCoverage: 0.3}, true},
	}
	var p TextLayerPolicy
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Usable(tt.layer); got != tt.usable {
				t.Errorf("Usable = %v, want %v", got, tt.usable)
			}
			for _, m := range []struct {
				mode OCRMode
				want bool
			}{{OCRAuto, !tt.usable}, {OCRForce, true}, {OCROff, false}} {
				if got := p.NeedsOCR(m.mode, tt.layer); got != m.want {
					t.Errorf("NeedsOCR(%s) = %v, want %v", m.mode, got, m.want)
				}
			}
		})
	}
}

func TestParseOCRMode(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want OCRMode
		err  bool
	}{
		{"default", "", OCRAuto, false},
		{"auto", "auto", OCRAuto, false},
		{"force", "force", OCRForce, false},
		{"off", "off", OCROff, false},
		{"typo", "forced", "", true},
		{"case matters", "Auto", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOCRMode(tt.in)
			if got != tt.want || (err != nil) != tt.err {
				t.Errorf("ParseOCRMode(%q) = %q, %v", tt.in, got, err)
			}
		})
	}
	bad := TextLayerPolicy{MaxBadRatio: 2}
	if err := bad.Validate(); err == nil {
		t.Error("max_bad_ratio 2 accepted")
	}
}
