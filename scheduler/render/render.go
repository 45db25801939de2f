// Package render turns the canonical scheduler.Document into the formats
// clients download: Markdown, plain text, HTML and JSON. Every function is
// pure: the same document always renders to the same bytes.
package render

import (
	"errors"
	"fmt"
	"strings"

	"github.com/docstrange/mesh/scheduler"
)

// Sentinel errors.
var (
	// ErrUnknownFormat: Render was asked for a format it does not know.
	ErrUnknownFormat = errors.New("unknown output format")
	// ErrNoDocument: Render was given a nil document.
	ErrNoDocument = errors.New("no document to render")
)

// Content types of the rendered formats.
const (
	ContentTypeMarkdown = "text/markdown; charset=utf-8"
	ContentTypeText     = "text/plain; charset=utf-8"
	ContentTypeHTML     = "text/html; charset=utf-8"
	ContentTypeJSON     = "application/json"
)

// markdownSource is the media type whose text blocks are already Markdown.
const markdownSource = "text/markdown"

// Render renders doc in format (one of scheduler.Formats, case-insensitive)
// and returns the bytes with their Content-Type.
func Render(doc *scheduler.Document, format string) ([]byte, string, error) {
	if doc == nil {
		return nil, "", ErrNoDocument
	}
	switch f := strings.ToLower(strings.TrimSpace(format)); f {
	case scheduler.FormatMarkdown:
		return Markdown(doc), ContentTypeMarkdown, nil
	case scheduler.FormatText:
		return Text(doc), ContentTypeText, nil
	case scheduler.FormatHTML:
		return HTML(doc), ContentTypeHTML, nil
	case scheduler.FormatJSON:
		b, err := JSON(doc)
		if err != nil {
			return nil, "", err
		}
		return b, ContentTypeJSON, nil
	}
	return nil, "", fmt.Errorf("rendering %q: %w (want one of %s)", format, ErrUnknownFormat, strings.Join(scheduler.Formats, ", "))
}

// headingLevel clamps a block's level to the h1–h6 that Markdown and HTML
// have; a heading without a level is a top-level one.
func headingLevel(b scheduler.Block) int {
	return min(max(b.Level, 1), 6)
}

// oneLine collapses all whitespace, line breaks included, to single spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// multiPage reports whether page boundaries are worth marking: not for a
// one-page source such as a text file or a single-page PDF.
func multiPage(doc *scheduler.Document) bool {
	return doc.PageCount > 1 || len(doc.Pages) > 1
}
