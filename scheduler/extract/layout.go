package extract

import (
	"slices"
	"strings"
	"unicode"
)

// Layout tuning, in units of the font size (em) unless noted.
const (
	// wordGap: a horizontal gap wider than this between two runs of glyphs
	// is a word space even when the PDF has no space character there.
	wordGap = 0.25
	// segmentGap: a gap wider than this splits a row into segments, the
	// pieces the column finder works with. Column gutters are at least
	// about 1 em; justified word spaces rarely reach 0.8 em.
	segmentGap = 0.8
	// sizeJump: lines whose sizes differ by more than this fraction belong
	// to different blocks.
	sizeJump = 0.1
	// paragraphPitch: a baseline distance of more than this times the
	// page's usual line pitch starts a new block.
	paragraphPitch = 1.25
)

// glyph is one character of the text layer in layout coordinates. r is ' '
// for a word break and '\n' for a line break PDFium reported or generated;
// those carry no box.
type glyph struct {
	box  rect
	r    rune
	size float64
}

// span is a run of glyphs the PDF draws left to right without a break.
type span struct {
	box         rect
	text        []rune
	size        float64
	spaceBefore bool
}

// line is a row of spans sharing a baseline, left to right. Before reading
// order is known it is a segment: a piece of a row between wide gaps.
type line struct {
	box   rect
	spans []span
}

func (l *line) add(s span) {
	if len(l.spans) == 0 {
		l.box = s.box
	} else {
		l.box = l.box.union(s.box)
	}
	l.spans = append(l.spans, s)
}

// size is the character-weighted median size of the line's spans.
func (l *line) size() float64 {
	var ws []weighted
	for _, s := range l.spans {
		ws = append(ws, weighted{s.size, len(s.text)})
	}
	return weightedMedian(ws)
}

// text joins the spans, inserting a space where the PDF had one or where the
// gap is wider than a word space.
func (l *line) text() string {
	var b strings.Builder
	for i, s := range l.spans {
		if i > 0 {
			p := l.spans[i-1]
			if s.spaceBefore || s.box.x0-p.box.x1 > wordGap*max(s.size, p.size) {
				b.WriteByte(' ')
			}
		}
		b.WriteString(string(s.text))
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// spansOf cuts the glyph stream into spans at breaks, line changes, steps
// backwards and gaps.
func spansOf(glyphs []glyph) []span {
	var out []span
	var cur *span
	var last glyph
	pendingSpace := false
	flush := func() {
		if cur != nil {
			out = append(out, *cur)
			cur = nil
		}
	}
	for _, g := range glyphs {
		if g.r == ' ' || g.r == '\n' {
			flush()
			pendingSpace = true
			continue
		}
		if cur != nil && !continues(last, g) {
			flush()
		}
		if cur == nil {
			cur = &span{box: g.box, size: g.size, spaceBefore: pendingSpace}
		} else {
			cur.box = cur.box.union(g.box)
		}
		cur.text = append(cur.text, g.r)
		pendingSpace = false
		last = g
	}
	flush()
	return out
}

// continues reports whether g directly follows prev on the same baseline.
func continues(prev, g glyph) bool {
	em := max(prev.size, g.size)
	return sameRow(prev.box, g.box) &&
		g.box.x0 >= prev.box.x0-0.1*em &&
		g.box.x0-prev.box.x1 <= wordGap*em
}

// segmentsOf groups spans into rows by baseline and cuts rows at wide gaps.
func segmentsOf(spans []span) []*line {
	rows := rowsOf(spans)
	var segs []*line
	for _, row := range rows {
		seg := &line{}
		for i, s := range row.spans {
			if i > 0 && s.box.x0-row.spans[i-1].box.x1 > segmentGap*max(s.size, row.spans[i-1].size) {
				segs = append(segs, seg)
				seg = &line{}
			}
			seg.add(s)
		}
		segs = append(segs, seg)
	}
	return segs
}

// rowsOf groups spans whose boxes share a baseline, each row sorted left to
// right, rows top to bottom.
func rowsOf(spans []span) []*line {
	spans = slices.Clone(spans)
	slices.SortStableFunc(spans, func(a, b span) int { return cmpFloat(a.box.cy(), b.box.cy()) })
	var rows []*line
	for _, s := range spans {
		if n := len(rows); n > 0 && sameRow(rows[n-1].box, s.box) {
			rows[n-1].add(s)
			continue
		}
		r := &line{}
		r.add(s)
		rows = append(rows, r)
	}
	for _, r := range rows {
		slices.SortStableFunc(r.spans, func(a, b span) int { return cmpFloat(a.box.x0, b.box.x0) })
	}
	return rows
}

// linesOf merges the segments of one reading-order group back into full
// lines, top to bottom.
func linesOf(segs []*line) []*line {
	var spans []span
	for _, s := range segs {
		spans = append(spans, s.spans...)
	}
	return rowsOf(spans)
}

// textBlock is a block under construction; size feeds heading detection.
type textBlock struct {
	box   rect
	text  string
	size  float64
	lines int
}

// blocksOf splits the lines of one group into paragraphs. refRatio is the
// page's usual baseline pitch divided by the font size.
func blocksOf(lines []*line, refRatio float64) []textBlock {
	var out []textBlock
	var cur []*line
	flush := func() {
		if len(cur) > 0 {
			out = append(out, joinLines(cur))
			cur = nil
		}
	}
	for _, l := range lines {
		if n := len(cur); n > 0 && breaksBefore(cur[n-1], l, refRatio) {
			flush()
		}
		cur = append(cur, l)
	}
	flush()
	return out
}

// breaksBefore reports whether l starts a new block after prev.
func breaksBefore(prev, l *line, refRatio float64) bool {
	ps, ls := prev.size(), l.size()
	if abs(ps-ls) > sizeJump*max(ps, ls) {
		return true
	}
	if l.box.cy()-prev.box.cy() > paragraphPitch*refRatio*ps {
		return true
	}
	return !xOverlap(prev.box, l.box)
}

func joinLines(lines []*line) textBlock {
	var b strings.Builder
	var ws []weighted
	box := lines[0].box
	prev := ""
	for i, l := range lines {
		t := l.text()
		if i > 0 {
			if p, ok := strings.CutSuffix(b.String(), string(softHyphen)); ok {
				b.Reset()
				b.WriteString(p)
			} else if !endsInWordHyphen(prev) {
				b.WriteByte(' ')
			}
		}
		b.WriteString(t)
		prev = t
		box = box.union(l.box)
		ws = append(ws, weighted{l.size(), len([]rune(t))})
	}
	text := b.String()
	// A word broken at the block's last line stays visibly broken; soft
	// hyphens anywhere else are invisible in the PDF too.
	if p, ok := strings.CutSuffix(text, string(softHyphen)); ok {
		text = p + "-"
	}
	text = strings.ReplaceAll(text, string(softHyphen), "")
	return textBlock{box: box, text: text, size: weightedMedian(ws), lines: len(lines)}
}

// softHyphen marks a hyphen PDFium found breaking a word at a line end
// (FPDFText_IsHyphen); the word is joined back without it.
const softHyphen = '\u00ad'

// endsInWordHyphen reports a line ending in letter-hyphen that PDFium did
// not mark as a word break. The next line is glued on without a space and
// the hyphen kept: dropping it would break "well-known", and a space would
// split the word.
func endsInWordHyphen(t string) bool {
	r := []rune(t)
	n := len(r)
	return n >= 2 && r[n-1] == '-' && unicode.IsLetter(r[n-2])
}

// pitchRatio is the median baseline distance between consecutive lines of
// equal size, in em, clamped to the range of real leading; 1.2 when the page
// has too few lines to tell.
func pitchRatio(groups [][]*line) float64 {
	var rs []float64
	for _, g := range groups {
		for i := 1; i < len(g); i++ {
			a, b := g[i-1], g[i]
			as, bs := a.size(), b.size()
			if as <= 0 || abs(as-bs) > sizeJump*max(as, bs) {
				continue
			}
			if r := (b.box.cy() - a.box.cy()) / as; r >= 0.9 && r <= 2.5 {
				rs = append(rs, r)
			}
		}
	}
	if len(rs) == 0 {
		return 1.2
	}
	slices.Sort(rs)
	return min(max(rs[len(rs)/2], 1.0), 1.5)
}

type weighted struct {
	v float64
	w int
}

// weightedMedian returns the value at half the total weight.
func weightedMedian(ws []weighted) float64 {
	if len(ws) == 0 {
		return 0
	}
	ws = slices.Clone(ws)
	slices.SortFunc(ws, func(a, b weighted) int { return cmpFloat(a.v, b.v) })
	total := 0
	for _, x := range ws {
		total += max(x.w, 1)
	}
	acc := 0
	for _, x := range ws {
		acc += max(x.w, 1)
		if 2*acc >= total {
			return x.v
		}
	}
	return ws[len(ws)-1].v
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
