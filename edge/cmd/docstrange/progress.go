package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"golang.org/x/term"

	"github.com/docstrange/mesh/api"
)

// isTerminal reports whether w is an interactive terminal; anything else
// (a pipe, a file, a test's buffer) gets plain lines instead of a bar.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// termWidth is w's width in columns; 80 when unknown.
func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			return cols
		}
	}
	return 80
}

// jobProgress shows a job's progress as its events arrive.
type jobProgress interface {
	job(j *api.Job)
	done()
}

// bar redraws one line of a terminal in place:
//
//	report.pdf  running  [########............]  40%  48/120 pages  0:07
type bar struct {
	w     io.Writer
	label string
	width int
	start time.Time
	drawn bool
}

func newBar(w io.Writer, label string) *bar {
	return &bar{w: w, label: label, width: termWidth(w), start: time.Now()}
}

// job draws a job's state.
func (b *bar) job(j *api.Job) {
	p := j.Progress
	switch {
	case p.PagesTotal > 0:
		b.draw(j.Status, float64(p.PagesDone)/float64(p.PagesTotal), fmt.Sprintf("%d/%d pages", p.PagesDone, p.PagesTotal))
	default:
		b.draw(j.Status, -1, "")
	}
}

// bytes draws an upload's progress.
func (b *bar) bytes(done, total int64) {
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	b.draw("uploading", frac, humanize.IBytes(uint64(done))+"/"+humanize.IBytes(uint64(total)))
}

// draw renders the line; frac < 0 is unknown progress.
func (b *bar) draw(status string, frac float64, detail string) {
	el := time.Since(b.start).Round(time.Second)
	clock := fmt.Sprintf("%d:%02d", int(el.Minutes()), int(el.Seconds())%60)
	line := renderBar(b.label, status, frac, detail, clock, b.width-1)
	// \r returns to the line's start and \x1b[K clears what a longer
	// line left behind.
	fmt.Fprintf(b.w, "\r%s\x1b[K", line)
	b.drawn = true
}

// done ends the bar's line.
func (b *bar) done() {
	if b.drawn {
		fmt.Fprint(b.w, "\n")
		b.drawn = false
	}
}

// renderBar lays out one line no wider than cols.
func renderBar(label, status string, frac float64, detail, clock string, cols int) string {
	var parts []string
	if frac >= 0 {
		frac = min(max(frac, 0), 1)
		parts = append(parts, fmt.Sprintf("%3.0f%%", frac*100))
	}
	if detail != "" {
		parts = append(parts, detail)
	}
	tail := strings.Join(append(parts, clock), "  ")
	head := label + "  " + status + "  "
	barWidth := cols - len([]rune(head)) - len([]rune(tail)) - 4
	barWidth = min(barWidth, 40)
	if barWidth < 10 {
		// Too narrow for a bar: the words alone, cut to fit.
		line := strings.TrimSpace(head + tail)
		if r := []rune(line); len(r) > cols && cols > 0 {
			line = string(r[:cols])
		}
		return line
	}
	var bar string
	if frac < 0 {
		bar = strings.Repeat(".", barWidth)
	} else {
		full := int(frac * float64(barWidth))
		bar = strings.Repeat("#", full) + strings.Repeat(".", barWidth-full)
	}
	return head + "[" + bar + "]  " + tail
}

// lines reports progress as plain lines, for logs and pipes: a line when
// the status changes and one per tenth of the pages.
type lines struct {
	w      io.Writer
	label  string
	status string
	tenth  int
	total  int
}

func (l *lines) job(j *api.Job) {
	p := j.Progress
	tenth := -1
	if p.PagesTotal > 0 {
		tenth = p.PagesDone * 10 / p.PagesTotal
	}
	if j.Status == l.status && tenth == l.tenth && p.PagesTotal == l.total {
		return
	}
	l.status, l.tenth, l.total = j.Status, tenth, p.PagesTotal
	if p.PagesTotal > 0 {
		fmt.Fprintf(l.w, "%s %s %d/%d pages\n", l.label, j.Status, p.PagesDone, p.PagesTotal)
		return
	}
	fmt.Fprintf(l.w, "%s %s\n", l.label, j.Status)
}

func (l *lines) done() {}
