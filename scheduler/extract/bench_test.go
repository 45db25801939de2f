package extract

import (
	"testing"
	"time"
)

// perOp runs fn b.N times and returns the mean duration.
func perOp(b *testing.B, fn func()) time.Duration {
	b.Helper()
	start := time.Now()
	for b.Loop() {
		fn()
	}
	return time.Since(start) / time.Duration(max(b.N, 1))
}

// BenchmarkEngineStart measures NewPDFEngine+Close without a compilation
// cache (the baseline: PDFium is compiled in memory on every start), with an
// empty cache dir (the first start on a fresh machine, which also writes the
// cache) and with a populated one. The cached runs report their speedup.
func BenchmarkEngineStart(b *testing.B) {
	var base time.Duration
	for _, tc := range []struct {
		name string
		dir  func(b *testing.B) string
	}{
		{"no_cache", func(*testing.B) string { return "" }},
		{"empty_cache", func(b *testing.B) string { return b.TempDir() }},
		{"warm_cache", func(b *testing.B) string { testEngine(b); return testCacheDir() }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				dir := tc.dir(b)
				start := time.Now()
				e, err := NewPDFEngine(b.Context(), PDFConfig{CacheDir: dir, MaxTotal: 1})
				if err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
				_ = e.Close()
			}
			d := total / time.Duration(b.N)
			b.ReportMetric(float64(d.Milliseconds()), "ms/start")
			if base == 0 {
				base = d
			} else if d > 0 {
				b.ReportMetric(float64(base)/float64(d), "x_faster_than_no_cache")
			}
		})
	}
}

// BenchmarkInspect measures the submit-path check of the one-page fixture on
// disk, with a fresh instance per call (the default, the baseline) and with
// reused instances.
func BenchmarkInspect(b *testing.B) {
	var fresh time.Duration
	for _, tc := range []struct {
		name  string
		reuse bool
	}{{"fresh_instance", false}, {"reused_instance", true}} {
		b.Run(tc.name, func(b *testing.B) {
			e := sharedEngine(b, PDFConfig{MaxTotal: 4, ReuseInstances: tc.reuse})
			d := perOp(b, func() {
				if _, err := e.Inspect(b.Context(), "testdata/hello.pdf"); err != nil {
					b.Fatal(err)
				}
			})
			if !tc.reuse {
				fresh = d
			} else if fresh > 0 {
				b.ReportMetric(float64(fresh)/float64(d), "x_faster_than_fresh")
			}
		})
	}
}

// BenchmarkExtractPDF measures text-layer extraction per page, on the
// default engine (the baseline) and on an Interruptible one.
func BenchmarkExtractPDF(b *testing.B) {
	for _, file := range []string{"hello.pdf", "columns.pdf", "pages.pdf"} {
		b.Run(file, func(b *testing.B) {
			var plain time.Duration
			for _, tc := range []struct {
				name string
				cfg  PDFConfig
			}{{"default", PDFConfig{MaxTotal: 4}}, {"interruptible", PDFConfig{MaxTotal: 2, Interruptible: true}}} {
				b.Run(tc.name, func(b *testing.B) {
					e := sharedEngine(b, tc.cfg)
					pages := 0
					d := perOp(b, func() {
						doc, err := e.ExtractPDF(b.Context(), "testdata/"+file, nil, nil)
						if err != nil {
							b.Fatal(err)
						}
						pages = len(doc.Pages)
					})
					b.ReportMetric(float64(d.Microseconds())/float64(pages), "µs/page")
					if tc.name == "default" {
						plain = d
					} else if plain > 0 {
						b.ReportMetric(float64(d)/float64(plain), "x_slower_than_default")
					}
				})
			}
		})
	}
}
