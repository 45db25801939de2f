package ocr

import (
	"image"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docstrange/mesh/backends/onnx/ort"
)

// page renders an A4 page at the given width (height √2 times it) filled
// with the reference sentences in goregular at size pixels, and returns it
// with its text.
func page(t testing.TB, width int, size float64) (img *imageGray, want string) {
	t.Helper()
	face := newFace(t, "goregular", size)
	h := width * 1414 / 1000
	var lines []string
	step := size * 1.5 * 1.25
	for i := 0; float64(i+2)*step < float64(h-2*width/12); i++ {
		line := ""
		for j := i; textWidth(face, line+" "+sentences[j%len(sentences)]) < width-2*width/12; j++ {
			line = strings.TrimSpace(line + " " + sentences[j%len(sentences)])
		}
		lines = append(lines, line)
	}
	return render(face, width, h, block{x: width / 12, y: width / 12, lines: lines}), strings.Join(lines, "\n")
}

type imageGray = image.Gray

// vmHWM is the process's peak resident memory in KiB.
func vmHWM() int {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// TestPerfReport measures throughput and the detection limit trade-off. It
// takes a minute or more, so it runs only with DOCSTRANGE_OCR_PERF=1.
func TestPerfReport(t *testing.T) {
	if os.Getenv("DOCSTRANGE_OCR_PERF") == "" {
		t.Skip("set DOCSTRANGE_OCR_PERF=1 to measure")
	}
	if l := os.Getenv("DOCSTRANGE_OCR_PERF_LIMIT"); l != "" {
		limit, err := strconv.Atoi(l)
		if err != nil {
			t.Fatal(err)
		}
		detLimit(t, []int{limit})
		return
	}
	img, want := page(t, 1240, 18) // A4 at 150 dpi, 10.8pt text
	t.Logf("A4 page 1240x%d, %d lines, %d chars", img.Bounds().Dy(), strings.Count(want, "\n")+1, len(want))
	var base float64
	for _, threads := range []int{1, 2} {
		e := newTestEngine(t, Config{Runtime: ort.Config{IntraOpThreads: threads, InterOpThreads: 1}})
		if _, err := e.Recognize(t.Context(), img, Options{}); err != nil { // warm-up
			t.Fatal(err)
		}
		const n = 3
		start := time.Now()
		var res Result
		for range n {
			var err error
			if res, err = e.Recognize(t.Context(), img, Options{}); err != nil {
				t.Fatal(err)
			}
		}
		pps := n / time.Since(start).Seconds()
		if base == 0 {
			base = pps
		}
		t.Logf("threads=%d: %.3f pages/s (%.2fx of 1 thread), CER %.2f%%, last %+v", threads, pps, pps/base, 100*cer(joined(res), want), res.Timings)
		_ = e.Close()
	}

	detLimit(t, []int{960, 1600, 2400})
}

// detLimit reads a dense A4 page at 300 dpi with each detection limit and
// logs accuracy, time and peak memory. Peak memory only grows within a
// process: run one limit per process (DOCSTRANGE_OCR_PERF_LIMIT) to compare
// it.
func detLimit(t *testing.T, limits []int) {
	dense, dwant := page(t, 2480, 22)
	t.Logf("dense page 2480x%d, %d chars", dense.Bounds().Dy(), len(dwant))
	e := newTestEngine(t, Config{})
	for _, limit := range limits {
		before := vmHWM()
		start := time.Now()
		res, err := e.Recognize(t.Context(), dense, Options{DetLimitSideLen: limit})
		if err != nil {
			t.Fatal(err)
		}
		w, h := e.det.inputSize(dense.Bounds().Dx(), dense.Bounds().Dy(), limit)
		t.Logf("det limit %d: input %dx%d (%.1f MiB tensor), %d lines, CER %.2f%%, %v (detect %v), peak RSS %d MiB (+%d MiB)",
			limit, w, h, float64(3*4*w*h)/(1<<20), len(res.Lines), 100*cer(joined(res), dwant), time.Since(start).Round(time.Millisecond),
			res.Timings.Detect.Round(time.Millisecond), vmHWM()/1024, (vmHWM()-before)/1024)
	}
}
