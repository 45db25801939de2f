package render

import (
	"encoding/json"
	"fmt"

	"github.com/docstrange/mesh/scheduler"
)

// JSON renders doc as indented JSON. Missing page and block lists come out
// as [] rather than null, so clients can always iterate.
func JSON(doc *scheduler.Document) ([]byte, error) {
	d := *doc
	d.Pages = make([]scheduler.Page, len(doc.Pages))
	for i, p := range doc.Pages {
		if p.Blocks == nil {
			p.Blocks = []scheduler.Block{}
		}
		d.Pages[i] = p
	}
	b, err := json.MarshalIndent(&d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshalling document: %w", err)
	}
	return append(b, '\n'), nil
}
