package extract

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is the broad family of a document, which decides its pipeline.
type Kind string

// Document kinds Detect reports.
const (
	KindUnknown Kind = "unknown"
	KindPDF     Kind = "pdf"
	KindImage   Kind = "image"
	KindText    Kind = "text"
)

// Media types Detect reports.
const (
	MediaTypePDF      = "application/pdf"
	MediaTypePNG      = "image/png"
	MediaTypeJPEG     = "image/jpeg"
	MediaTypeTIFF     = "image/tiff"
	MediaTypeBMP      = "image/bmp"
	MediaTypeWebP     = "image/webp"
	MediaTypeGIF      = "image/gif"
	MediaTypeText     = "text/plain"
	MediaTypeMarkdown = "text/markdown"
	MediaTypeUnknown  = "application/octet-stream"
)

// HeadLen is how many leading bytes Detect wants. Fewer work; the PDF header
// may sit anywhere in the first 1024 bytes and the text heuristics get better
// with more.
const HeadLen = 4096

// pdfHeaderWindow is how far into the file PDF readers look for "%PDF-".
const pdfHeaderWindow = 1024

// Detect tells what a document is from its first bytes alone. File names and
// client-supplied content types are never consulted: they are claims, the
// bytes are evidence.
func Detect(head []byte) (Kind, string) {
	if len(head) == 0 {
		return KindUnknown, MediaTypeUnknown
	}
	if bytes.Contains(head[:min(len(head), pdfHeaderWindow)], []byte("%PDF-")) {
		return KindPDF, MediaTypePDF
	}
	if m := imageMedia(head); m != "" {
		return KindImage, m
	}
	if looksLikeText(head) {
		if looksLikeMarkdown(head) {
			return KindText, MediaTypeMarkdown
		}
		return KindText, MediaTypeText
	}
	return KindUnknown, MediaTypeUnknown
}

func imageMedia(h []byte) string {
	switch {
	case bytes.HasPrefix(h, []byte("\x89PNG\r\n\x1a\n")):
		return MediaTypePNG
	case bytes.HasPrefix(h, []byte{0xFF, 0xD8, 0xFF}):
		return MediaTypeJPEG
	case bytes.HasPrefix(h, []byte("II*\x00")), bytes.HasPrefix(h, []byte("MM\x00*")):
		return MediaTypeTIFF
	case bytes.HasPrefix(h, []byte("GIF87a")), bytes.HasPrefix(h, []byte("GIF89a")):
		return MediaTypeGIF
	case len(h) >= 12 && bytes.HasPrefix(h, []byte("RIFF")) && string(h[8:12]) == "WEBP":
		return MediaTypeWebP
	case isBMP(h):
		return MediaTypeBMP
	}
	return ""
}

// isBMP checks more than the two-byte "BM" magic, which plenty of text files
// start with: the reserved words must be zero and the DIB header size must be
// one of the sizes the format defines.
func isBMP(h []byte) bool {
	if len(h) < 18 || h[0] != 'B' || h[1] != 'M' {
		return false
	}
	if h[6] != 0 || h[7] != 0 || h[8] != 0 || h[9] != 0 {
		return false
	}
	switch uint32(h[14]) | uint32(h[15])<<8 | uint32(h[16])<<16 | uint32(h[17])<<24 {
	case 12, 16, 40, 52, 56, 64, 108, 124:
		return true
	}
	return false
}

// looksLikeText accepts UTF-8 without NUL bytes in which at most 1 in 100
// runes is a control character other than ordinary whitespace.
func looksLikeText(h []byte) bool {
	h = bytes.TrimPrefix(h, []byte("\xEF\xBB\xBF"))
	h = trimPartialRune(h)
	if len(h) == 0 || !utf8.Valid(h) || bytes.IndexByte(h, 0) >= 0 {
		return false
	}
	var runes, odd int
	for _, r := range string(h) {
		runes++
		switch {
		case r == '\n' || r == '\r' || r == '\t' || r == '\f':
		case unicode.IsControl(r), r == utf8.RuneError:
			odd++
		}
	}
	return odd*100 <= runes
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of h, which a
// head cut at an arbitrary byte may have.
func trimPartialRune(h []byte) []byte {
	for i := 1; i <= utf8.UTFMax-1 && i <= len(h); i++ {
		b := h[len(h)-i]
		if b < 0x80 {
			return h
		}
		if utf8.RuneStart(b) {
			if !utf8.FullRune(h[len(h)-i:]) {
				return h[:len(h)-i]
			}
			return h
		}
	}
	return h
}

// looksLikeMarkdown scores lines with Markdown syntax. An ATX heading, a
// code fence or a setext underline counts two, list items, quotes, table
// rows and inline links (each) one; two points make Markdown.
func looksLikeMarkdown(h []byte) bool {
	score := 0
	prevText := false
	for line := range strings.SplitSeq(string(h), "\n") {
		line = strings.TrimRight(line, "\r")
		t := strings.TrimLeft(line, " ")
		switch {
		case isATXHeading(t), strings.HasPrefix(t, "```"), strings.HasPrefix(t, "~~~"):
			score += 2
		case prevText && len(t) >= 3 && (strings.Trim(t, "=") == "" || strings.Trim(t, "-") == ""):
			score += 2
		case strings.HasPrefix(t, "- "), strings.HasPrefix(t, "* "), strings.HasPrefix(t, "+ "),
			strings.HasPrefix(t, "> "), isOrderedItem(t),
			strings.HasPrefix(t, "|") && strings.HasSuffix(t, "|"):
			score++
		case strings.Contains(t, "](") && strings.Contains(t, "["):
			score += min(strings.Count(t, "]("), 2)
		}
		if score >= 2 {
			return true
		}
		prevText = strings.TrimSpace(t) != ""
	}
	return false
}

// isATXHeading reports "# Title" through "###### Title".
func isATXHeading(t string) bool {
	n := len(t) - len(strings.TrimLeft(t, "#"))
	return n >= 1 && n <= 6 && len(t) > n && t[n] == ' '
}

// isOrderedItem reports "1. item" and "1) item".
func isOrderedItem(t string) bool {
	n := len(t) - len(strings.TrimLeft(t, "0123456789"))
	return n >= 1 && n <= 9 && len(t) > n+1 && (t[n] == '.' || t[n] == ')') && t[n+1] == ' '
}
