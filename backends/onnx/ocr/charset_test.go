package ocr

import (
	"strings"
	"testing"
)

func TestLatinClasses(t *testing.T) {
	labels := []string{"blank", "a", "中", "é", "：", "€", "Ω", "丨", "|", "Я", " "}
	got := latinClasses(labels)
	var names []string
	for _, i := range got {
		names = append(names, labels[i])
	}
	if want := "blank a é € Ω |  "; strings.Join(names, " ") != want {
		t.Errorf("latin classes %q, want %q", strings.Join(names, " "), want)
	}
}

// TestCharsetLatin reads an English page with the whole dictionary and
// with the Latin classes: the same text, the Latin head is a small part of
// the dictionary, and an unknown charset is refused.
func TestCharsetLatin(t *testing.T) {
	e := newTestEngine(t, Config{})
	info := e.Info()
	all, latin := info.Charsets[CharsetAll], info.Charsets[CharsetLatin]
	if all != 6625 || latin < 100 || latin > 600 {
		t.Fatalf("charsets %v: want 6625 classes and a Latin set of a few hundred", info.Charsets)
	}
	t.Logf("charsets %v", info.Charsets)
	img, want := page(t, 620, 18)
	texts := map[string]string{}
	for _, cs := range []string{CharsetAll, CharsetLatin} {
		res, err := e.Recognize(t.Context(), img, Options{Charset: cs})
		if err != nil {
			t.Fatal(err)
		}
		texts[cs] = joined(res)
		if c := cer(texts[cs], want); c > 0.01 {
			t.Errorf("charset %q: CER %.2f%%:\n%s", cs, 100*c, texts[cs])
		}
		for _, r := range texts[cs] {
			if cs == CharsetLatin && !latinRune(r) && r != '\n' {
				t.Errorf("charset latin read %q", r)
			}
		}
	}
	if d := cer(texts[CharsetLatin], texts[CharsetAll]); d > 0.005 {
		t.Errorf("latin and all differ by %.2f%%:\n%s\n---\n%s", 100*d, texts[CharsetLatin], texts[CharsetAll])
	}
	if _, err := e.Recognize(t.Context(), img, Options{Charset: "cyrillic"}); err == nil || !strings.Contains(err.Error(), "charset") {
		t.Errorf("charset cyrillic: %v, want an error", err)
	}
}

func TestCharsetFor(t *testing.T) {
	for _, tc := range []struct {
		langs []string
		want  string
	}{
		{nil, CharsetAll},
		{[]string{"en"}, CharsetLatin},
		{[]string{"EN-gb", "deu", "fr"}, CharsetLatin},
		{[]string{"en", "chi_sim"}, CharsetAll},
		{[]string{"ru"}, CharsetAll},
		{[]string{"zh"}, CharsetAll},
	} {
		if got := CharsetFor(tc.langs); got != tc.want {
			t.Errorf("CharsetFor(%q) = %q, want %q", tc.langs, got, tc.want)
		}
	}
}
