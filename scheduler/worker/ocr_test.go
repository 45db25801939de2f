package worker

import (
	"testing"

	"github.com/docstrange/mesh/plugins"
	"github.com/docstrange/mesh/scheduler"
)

func line(text string, x0, y0, x1, y1 float32, conf float32) plugins.Line {
	return plugins.Line{Text: text, Confidence: conf, Box: plugins.Quad{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}}
}

func TestLinesToBlocks(t *testing.T) {
	lines := []plugins.Line{
		line("Hello Mesh", 150, 149, 352, 184, 0.95),              // title, taller
		line("First paragraph wraps", 146, 212, 1053, 239, 0.99),  // body line 1
		line("onto a second line.", 146, 247, 900, 274, 0.97),     // body line 2, small gap
		line("Second paragraph.", 206, 299, 722, 326, 0.98),       // after a paragraph gap
		line("", 0, 0, 1, 1, 0),                                   // empty lines are dropped
		line("Right column text", 1200, 212, 1500, 239, 0.9),      // no horizontal overlap
		line("Another paragraph.", 146, 420, 900, 447, 0.96),      // far below
		line("same column, tight line", 146, 452, 900, 479, 0.96), // continues the previous
	}
	blocks := linesToBlocks(lines, 0.5)
	want := []struct {
		text string
		typ  string
	}{
		{"Hello Mesh", scheduler.BlockHeading},
		{"First paragraph wraps onto a second line.", scheduler.BlockText},
		{"Second paragraph.", scheduler.BlockText},
		{"Right column text", scheduler.BlockText},
		{"Another paragraph. same column, tight line", scheduler.BlockText},
	}
	if len(blocks) != len(want) {
		t.Fatalf("got %d blocks: %+v", len(blocks), blocks)
	}
	for i, w := range want {
		if blocks[i].Text != w.text || blocks[i].Type != w.typ || blocks[i].Source != scheduler.SourceOCR {
			t.Errorf("block %d = %q (%s, %s), want %q (%s)", i, blocks[i].Text, blocks[i].Type, blocks[i].Source, w.text, w.typ)
		}
	}
	// Boxes are scaled to page units and merged over the block's lines.
	if b := blocks[1].BBox; b.X0 != 73 || b.Y0 != 106 || b.X1 != 526.5 || b.Y1 != 137 {
		t.Errorf("merged box %+v", b)
	}
	if c := blocks[1].Confidence; c != 0.98 {
		t.Errorf("confidence %v, want the mean 0.98", c)
	}
	if linesToBlocks(nil, 1) != nil {
		t.Error("no lines must give no blocks")
	}
}
