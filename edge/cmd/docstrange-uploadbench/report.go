package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// report is everything the bench measured and its verdict; it is also the
// JSON file.
type report struct {
	Started     time.Time      `json:"started"`
	Machine     machine        `json:"machine"`
	Config      reportConfig   `json:"config"`
	ExpectedSHA string         `json:"expected_sha256"`
	Uploads     []uploadResult `json:"uploads"`
	Edge        serverSummary  `json:"edge"`
	Tusd        serverSummary  `json:"tusd"`
	// Ratio is the edge's median MB/s over tusd's; RatioBest compares each
	// one's best upload.
	Ratio     float64 `json:"ratio"`
	RatioBest float64 `json:"ratio_best"`
	// CPURatio is the edge's median CPU seconds per GiB over tusd's: the
	// cost of the edge's layers, less sensitive than speed to other
	// processes taking turns on the CPUs.
	CPURatio float64 `json:"cpu_ratio"`
	Checks   []check `json:"checks"`
	Pass     bool    `json:"pass"`
	Verdict  string  `json:"verdict"`
}

type machine struct {
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
	CPUs    int    `json:"cpus"`
	LoadAvg string `json:"loadavg_at_start,omitempty"`
}

type reportConfig struct {
	EdgeURL      string  `json:"edge_url"`
	TusdURL      string  `json:"tusd_url"`
	Size         int64   `json:"size_bytes"`
	Chunk        int64   `json:"chunk_bytes"`
	Patches      int64   `json:"patches_per_upload"`
	Runs         int     `json:"runs"`
	Warmup       int     `json:"warmup_uploads"`
	Seed         uint64  `json:"seed"`
	MinRatio     float64 `json:"min_ratio"`
	MaxRSSGrowth int64   `json:"max_rss_growth_bytes"`
	SampleMillis int64   `json:"rss_sample_ms"`
}

// serverSummary sums up one server's uploads.
type serverSummary struct {
	// Uploads and OK count warmups too; OK counts the uploads that arrived
	// complete and intact. The speeds are the timed OK uploads' only.
	Uploads       int     `json:"uploads"`
	OK            int     `json:"ok"`
	Timed         int     `json:"timed"`
	Hashed        int     `json:"hashed"`
	MedianMBps    float64 `json:"median_mb_per_s"`
	BestMBps      float64 `json:"best_mb_per_s"`
	MedianSeconds float64 `json:"median_seconds"`
	// CPUPerGiB is the server's median CPU seconds per GiB received.
	CPUPerGiB float64 `json:"cpu_seconds_per_gib"`
	// MaxRSSGrowth is the largest growth of any upload, when RSSMeasured.
	MaxRSSGrowth int64 `json:"max_rss_growth_bytes"`
	RSSMeasured  bool  `json:"rss_measured"`
}

// check is one criterion of the verdict.
type check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

func newReport(cfg *config, expected string) *report {
	m := machine{Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU()}
	if ms, err := readMachineStat(); err == nil {
		m.CPUs = ms.cpus
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.TrimSpace(string(b))
	}
	return &report{
		Started:     time.Now().UTC(),
		Machine:     m,
		ExpectedSHA: expected,
		Config: reportConfig{
			EdgeURL: cfg.edgeURL.String(), TusdURL: cfg.tusdURL.String(),
			Size: cfg.size, Chunk: cfg.chunk, Patches: chunkCount(cfg.size, cfg.chunk),
			Runs: cfg.runs, Warmup: cfg.warmup, Seed: cfg.seed, MinRatio: cfg.minRatio,
			MaxRSSGrowth: cfg.maxRSSGrowth, SampleMillis: cfg.sampleEvery.Milliseconds(),
		},
		Verdict: "INCOMPLETE",
	}
}

func (r *report) add(res uploadResult) { r.Uploads = append(r.Uploads, res) }

// judge sums the uploads up and gives the verdict.
func (r *report) judge() {
	r.Edge = summarize(r.Uploads, serverEdge)
	r.Tusd = summarize(r.Uploads, serverTusd)
	if r.Tusd.MedianMBps > 0 {
		r.Ratio = r.Edge.MedianMBps / r.Tusd.MedianMBps
		r.RatioBest = r.Edge.BestMBps / r.Tusd.BestMBps
	}
	if r.Tusd.CPUPerGiB > 0 {
		r.CPURatio = r.Edge.CPUPerGiB / r.Tusd.CPUPerGiB
	}
	r.Checks = verdict(r.Edge, r.Tusd, r.Config.MinRatio, r.Config.MaxRSSGrowth)
	r.Pass = true
	for _, c := range r.Checks {
		r.Pass = r.Pass && c.OK
	}
	r.Verdict = "FAIL"
	if r.Pass {
		r.Verdict = "PASS"
	}
}

// summarize sums up the named server's uploads.
func summarize(uploads []uploadResult, name string) serverSummary {
	var s serverSummary
	var speeds, secs, cpu []float64
	for _, u := range uploads {
		if u.Server != name {
			continue
		}
		s.Uploads++
		if u.RSS != nil {
			s.RSSMeasured = true
			s.MaxRSSGrowth = max(s.MaxRSSGrowth, u.RSS.Growth)
		}
		if u.Intact != nil {
			s.Hashed++
		}
		if !u.ok() {
			continue
		}
		s.OK++
		if u.Warmup {
			continue
		}
		s.Timed++
		speeds = append(speeds, u.MBps)
		secs = append(secs, u.Seconds)
		cpu = append(cpu, u.ServerCPU/(float64(u.Bytes)/(1<<30)))
	}
	s.MedianMBps, s.MedianSeconds, s.CPUPerGiB = median(speeds), median(secs), median(cpu)
	if len(speeds) > 0 {
		s.BestMBps = slices.Max(speeds)
	}
	return s
}

// median of xs, the mean of the middle two for an even count; 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if n := len(s); n%2 == 1 {
		return s[n/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// verdict checks the edge against the targets: throughput against
// tusd's, bounded memory, and every upload complete and intact.
func verdict(edge, tusd serverSummary, minRatio float64, maxGrowth int64) []check {
	var checks []check

	tp := check{Name: "throughput"}
	switch {
	case edge.Timed == 0 || tusd.Timed == 0:
		tp.Detail = fmt.Sprintf("nothing to compare: %d edge and %d tusd timed uploads succeeded", edge.Timed, tusd.Timed)
	default:
		ratio := edge.MedianMBps / tusd.MedianMBps
		tp.OK = ratio >= minRatio
		tp.Detail = fmt.Sprintf("edge %.1f MB/s is %.3f of tusd's %.1f MB/s (medians of %d and %d timed uploads; needs >= %.2f)",
			edge.MedianMBps, ratio, tusd.MedianMBps, edge.Timed, tusd.Timed, minRatio)
	}
	checks = append(checks, tp)

	mem := check{Name: "memory"}
	switch {
	case !edge.RSSMeasured:
		mem.Detail = "the edge's RSS was not measured"
	default:
		mem.OK = edge.MaxRSSGrowth < maxGrowth
		mem.Detail = fmt.Sprintf("edge RSS grew by at most %s during an upload (needs < %s)", mib(edge.MaxRSSGrowth), mib(maxGrowth))
		if tusd.RSSMeasured {
			mem.Detail += fmt.Sprintf("; tusd's by at most %s", mib(tusd.MaxRSSGrowth))
		}
	}
	checks = append(checks, mem)

	in := check{Name: "integrity"}
	in.OK = edge.Uploads > 0 && tusd.Uploads > 0 && edge.OK == edge.Uploads && tusd.OK == tusd.Uploads
	in.Detail = fmt.Sprintf("edge %d/%d and tusd %d/%d uploads ok: final offset = length = size", edge.OK, edge.Uploads, tusd.OK, tusd.Uploads)
	if hashed := edge.Hashed + tusd.Hashed; hashed > 0 {
		in.Detail += fmt.Sprintf(", and %d stored files hashed against the generated bytes", hashed)
	}
	if edge.Hashed < edge.Uploads || tusd.Hashed < tusd.Uploads {
		in.Detail += "; some stored files were not hashed (no -edge-dir/-tusd-dir, or the upload failed first)"
	}
	checks = append(checks, in)
	return checks
}

// line is one upload in a sentence, for progress.
func (u *uploadResult) line() string {
	if u.Error != "" {
		return fmt.Sprintf("%s: FAILED: %s", u.Server, u.Error)
	}
	s := fmt.Sprintf("%s: %s in %.2fs = %.1f MB/s, server CPU %.2fs", u.Server, formatSize(u.Bytes), u.Seconds, u.MBps, u.ServerCPU)
	if u.RSS != nil {
		s += fmt.Sprintf(", RSS %s %+.1f MiB", mib(u.RSS.Before), float64(u.RSS.Growth)/(1<<20))
	}
	if u.Intact != nil {
		s += ", stored SHA-256 matches"
	}
	return s
}

// print writes the table, the summary and the verdict.
func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\nuploads of %s in %d PATCHes of %s on %d CPUs (load average at start: %s)\n",
		formatSize(r.Config.Size), r.Config.Patches, formatSize(r.Config.Chunk), r.Machine.CPUs, r.Machine.LoadAvg)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tserver\torder\tseconds\tMB/s\tRSS before\tRSS growth\tserver CPU s\tbench CPU s\tother cores\tcheck\t")
	for _, u := range r.Uploads {
		rssBefore, rssGrowth := "-", "-"
		if u.RSS != nil {
			rssBefore, rssGrowth = mib(u.RSS.Before), mib(u.RSS.Growth)
		}
		status := "ok"
		switch {
		case !u.ok():
			status = "FAILED"
		case u.Intact == nil:
			status = "ok (not hashed)"
		}
		run := strconv.Itoa(u.Run)
		if u.Warmup {
			run = "warmup"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.2f\t%.1f\t%s\t%s\t%.2f\t%.2f\t%.2f\t%s\t\n",
			run, u.Server, u.Position, u.Seconds, u.MBps, rssBefore, rssGrowth, u.ServerCPU, u.BenchCPU, u.OtherCores, status)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nMB is 10^6 bytes; an upload's time runs from its POST to the answer of its last PATCH; warmups are not\n"+
		"timed. \"other cores\" is the machine's busy CPU time during the upload less the server's and the bench's,\n"+
		"per second: other processes' load.\n")
	for _, s := range []struct {
		name string
		sum  serverSummary
	}{{serverEdge, r.Edge}, {serverTusd, r.Tusd}} {
		fmt.Fprintf(w, "%s: median %.1f MB/s (best %.1f) over %d timed uploads, %.2f CPU s per GiB, %d/%d uploads ok\n",
			s.name, s.sum.MedianMBps, s.sum.BestMBps, s.sum.Timed, s.sum.CPUPerGiB, s.sum.OK, s.sum.Uploads)
	}
	fmt.Fprintf(w, "edge/tusd: %.3f by medians, %.3f by best uploads; the edge uses %.2fx tusd's CPU per GiB\n\n", r.Ratio, r.RatioBest, r.CPURatio)
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %-10s %s\n", mark, c.Name, c.Detail)
	}
	for _, u := range r.Uploads {
		for _, warn := range u.Warnings {
			fmt.Fprintf(w, "  warning: run %d (0: warmup) %s: %s\n", u.Run, u.Server, warn)
		}
	}
	fmt.Fprintf(w, "verdict: %s\n", r.Verdict)
}

func (r *report) writeJSON(name string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the results: %w", err)
	}
	if err := os.WriteFile(name, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the results: %w", err)
	}
	return nil
}
