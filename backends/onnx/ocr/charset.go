package ocr

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/docstrange/mesh/backends/onnx/graphopt"
	"github.com/docstrange/mesh/backends/onnx/manifest"
	"github.com/docstrange/mesh/backends/onnx/ort"
)

// Character sets a Recognize call can ask for (Options.Charset).
const (
	// CharsetAll reads with the model's whole dictionary; "" means it too.
	CharsetAll = "all"
	// CharsetLatin reads with the classes of Latin-script writing only.
	CharsetLatin = "latin"
)

// latinRune reports whether r is written in Latin-script languages: the
// Latin letters with their diacritics, digits, punctuation, currency,
// letterlike and mathematical signs, and Greek, which such text uses as
// symbols (α, µ, Ω). CJK characters and full-width forms are not: a
// Chinese model reading English text picks them for look-alikes (丨 for
// |, ： for :), which a Latin request rules out.
func latinRune(r rune) bool {
	switch {
	case r < 0x250, // Basic Latin, Latin-1, Latin Extended-A and -B
		r >= 0x370 && r < 0x400,   // Greek
		r >= 0x1E00 && r < 0x1F00, // Latin Extended Additional (Vietnamese)
		r >= 0x2000 && r < 0x2070, // General Punctuation
		r >= 0x20A0 && r < 0x20D0, // Currency Symbols
		r >= 0x2100 && r < 0x2300: // Letterlike, Number Forms, Arrows, Mathematical Operators
		return true
	}
	return false
}

// latinClasses returns the indices of labels that Latin-script text uses,
// the blank (0) first, in dictionary order.
func latinClasses(labels []string) []int {
	keep := []int{0}
	for i, l := range labels[1:] {
		ok := l != ""
		for _, r := range l {
			ok = ok && latinRune(r)
		}
		if ok {
			keep = append(keep, i+1)
		}
	}
	return keep
}

// latinSession opens the recogniser with its head cut to the Latin classes
// (graphopt.RestrictClasses) from model, the bytes the full recogniser was
// opened from (nil: the file as shipped), and returns it with its labels.
// The head's matrix product and softmax are about a sixth of a line's time
// in int8, and the Go side's per-frame work shrinks with the classes. A
// model whose head has another shape, or a dictionary with few non-Latin
// classes, gets no Latin session: a nil session and no error.
func (e *Engine) latinSession(ctx context.Context, m manifest.Model, model []byte, rt ort.Config) (*ort.Session, []string, error) {
	labels := m.Recognize.Dictionary.Labels
	keep := latinClasses(labels)
	if len(keep) > len(labels)/2 {
		return nil, nil, nil
	}
	if model == nil {
		var err error
		if model, err = os.ReadFile(e.man.Path(m.File)); err != nil {
			return nil, nil, fmt.Errorf("loading model %q: %w", m.Name, err)
		}
	}
	cut, err := graphopt.RestrictClasses(model, keep)
	if err != nil {
		return nil, nil, nil
	}
	s, err := e.rt.NewSessionFromBytes(ctx, e.man.Path(m.File)+" (latin)", cut, rt)
	if err != nil {
		return nil, nil, fmt.Errorf("loading model %q with the Latin classes: %w", m.Name, err)
	}
	e.sessions = append(e.sessions, s)
	sub := make([]string, len(keep))
	for i, k := range keep {
		sub[i] = labels[k]
	}
	return s, sub, nil
}

// latinLanguages are ISO 639-1 and 639-2 codes (and Tesseract's names for
// them) of languages written in the Latin script.
var latinLanguages = map[string]bool{}

func init() {
	for _, group := range [][]string{
		{"en", "eng"}, {"de", "deu", "ger"}, {"fr", "fra", "fre"}, {"es", "spa"}, {"it", "ita"},
		{"pt", "por"}, {"nl", "nld", "dut"}, {"sv", "swe"}, {"da", "dan"}, {"no", "nor", "nb", "nob", "nn", "nno"},
		{"fi", "fin"}, {"is", "isl", "ice"}, {"pl", "pol"}, {"cs", "ces", "cze"}, {"sk", "slk", "slo"},
		{"sl", "slv"}, {"hr", "hrv"}, {"bs", "bos"}, {"ro", "ron", "rum"}, {"hu", "hun"}, {"tr", "tur"},
		{"et", "est"}, {"lv", "lav"}, {"lt", "lit"}, {"ga", "gle"}, {"cy", "cym", "wel"}, {"mt", "mlt"},
		{"sq", "sqi", "alb"}, {"ca", "cat"}, {"eu", "eus", "baq"}, {"gl", "glg"}, {"af", "afr"},
		{"sw", "swa"}, {"id", "ind"}, {"ms", "msa", "may"}, {"tl", "tgl"}, {"vi", "vie"}, {"la", "lat"},
		{"eo", "epo"}, {"az", "aze"}, {"uz", "uzb"}, {"lb", "ltz"}, {"fo", "fao"}, {"fy", "fry"},
		{"gd", "gla"}, {"br", "bre"}, {"co", "cos"}, {"oc", "oci"}, {"mi", "mri"}, {"haw"},
		{"yo", "yor"}, {"ha", "hau"}, {"zu", "zul"}, {"xh", "xho"}, {"so", "som"}, {"ceb"}, {"jv", "jav"},
	} {
		for _, code := range group {
			latinLanguages[code] = true
		}
	}
}

// CharsetFor is the narrowest character set that reads every one of
// languages (ISO 639 codes, a region such as "en-GB" ignored): CharsetLatin
// when all are written in the Latin script, else CharsetAll, which also
// answers none given.
func CharsetFor(languages []string) string {
	if len(languages) == 0 {
		return CharsetAll
	}
	for _, l := range languages {
		l = strings.ToLower(l)
		if i := strings.IndexByte(l, '-'); i > 0 {
			l = l[:i]
		}
		if !latinLanguages[l] {
			return CharsetAll
		}
	}
	return CharsetLatin
}
