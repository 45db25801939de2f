package main

import (
	"cmp"
	"fmt"
	"strings"
	"text/tabwriter"
)

// header is printed before the load starts, so that a long run shows what
// it is doing.
func (r *report) header() string {
	c := r.Config
	var b strings.Builder
	fmt.Fprintf(&b, "docstrange-bench %s\n", r.Version)
	fmt.Fprintf(&b, "target   %s  clients=%d duration=%gs warmup=%gs drain=%gs p99-target=%s\n",
		c.URL, c.Clients, c.DurationS, c.WarmupS, c.DrainS, fmtMS(c.P99TargetMS))
	fmt.Fprintf(&b, "file     %s (%d bytes, %d bytes multipart)\n", c.File, c.FileBytes, c.BodyBytes)
	if ch := r.Chain; ch != nil {
		rate := fmt.Sprintf("%.2fx the saturated baseline's throughput", c.ChainRateFraction)
		if c.ChainRate > 0 {
			rate = fmt.Sprintf("%.0f req/s", c.ChainRate)
		}
		fmt.Fprintf(&b, "chain    GET /api/v1/me against GET /api/v1/ping from %d clients, saturated and at a fixed rate of %s,\n", ch.Clients, rate)
		fmt.Fprintf(&b, "         each pair taking %d turns of %gs;", c.ChainRounds, c.DurationS/float64(max(c.ChainRounds, 1)))
		fmt.Fprintf(&b, " passes when at the fixed rate it adds <= %s at p99", fmtMS(c.ChainP99AddedMS))
		if c.ChainMinRatio > 0 {
			fmt.Fprintf(&b, " and saturated keeps >= %.2fx of the throughput", c.ChainMinRatio)
		}
		b.WriteString("\n")
		if id := ch.Identity; id != nil {
			fmt.Fprintf(&b, "caller   %s %s, tenant %s, tier %s, rate limit %s per period\n", id.Kind, id.KeyID, id.Tenant, id.Tier, cmp.Or(id.RateLimit, "(none)"))
		}
	}
	fmt.Fprintf(&b, "host     %d CPUs, GOMAXPROCS %d\n", r.Host.CPUs, r.Host.GOMAXPROCS)
	fmt.Fprintf(&b, "note     %s\n\n", r.Host.Note)
	return b.String()
}

// table is the human summary of the report.
func (r *report) table() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tendpoint\tclients\tok\terrors\tok/s\tp50\tp95\tp99\tmax\tclient-cpu\tmachine-cpu\t")
	for _, p := range r.phases() {
		l := p.LatencyMS
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			p.Name, p.Endpoint, p.Clients, p.Count, p.Errors, p.RPS,
			fmtMS(l.P50), fmtMS(l.P95), fmtMS(l.P99), fmtMS(l.Max),
			fmtCores(p.ClientCPUCores, r.Host.CPUs), fmtCores(p.MachineBusyCores, p.MachineCPUs))
	}
	if c := r.Chain; c != nil {
		for _, x := range []*chainComparison{{Baseline: c.Baseline, Chain: c.Chain, AddedMS: c.AddedMS, ThroughputRatio: c.ThroughputRatio}, c.FixedRate, c.Paired} {
			if x == nil || x.AddedMS == nil {
				continue
			}
			a := x.AddedMS
			fmt.Fprintf(tw, "added\t%s-%s\t\t\t\t%s\t%s\t%s\t%s\t\t\t\t\n",
				x.Chain.Name, x.Baseline.Name, fmtRatio(x.ThroughputRatio), fmtAdded(a.P50), fmtAdded(a.P95), fmtAdded(a.P99))
		}
		for _, f := range []*chainComparison{c.FixedRate, c.Paired} {
			if f == nil || f.InEdgeAddedP99MS == nil {
				continue
			}
			for _, p := range []*phaseReport{f.Baseline, f.Chain} {
				fmt.Fprintf(tw, "in edge\t%s\t\t%.0f\t\t\t%s\t\t%s\t\t\t\t\n", p.Name, p.InEdgeMS.Count, fmtMS(p.InEdgeMS.P50), fmtMS(p.InEdgeMS.P99))
			}
			fmt.Fprintf(tw, "added in edge\t%s-%s\t\t\t\t\t%s\t\t%s\t\t\t\t\n", f.Chain.Name, f.Baseline.Name,
				fmtAdded(f.Chain.InEdgeMS.P50-f.Baseline.InEdgeMS.P50), fmtAdded(*f.InEdgeAddedP99MS))
		}
	}
	if r.Baseline != nil && r.Submit != nil {
		x := r.Ratios
		fmt.Fprintf(tw, "ratio\tsubmit/baseline\t\t\t\t%s\t%s\t%s\t%s\t\t\t\t\n",
			fmtRatio(x.Throughput), fmtRatio(x.P50), fmtRatio(x.P95), fmtRatio(x.P99))
	}
	tw.Flush()
	if r.Chain != nil {
		b.WriteString("(latency over successful requests in the measured window; cpu in cores busy; @N/s: open loop\n")
		b.WriteString(" offering N requests per second, latency from when each was due; the others closed loop;\n")
		b.WriteString(" paired-: both routes as one load, their requests alternating from the same clients, each at\n")
		b.WriteString(" half the rate, the client's cpu theirs together; the chain's fixed-rate p99 is judged\n")
		b.WriteString(" paired, the turns are reported;\n")
		b.WriteString(" added: the chain's latency minus its baseline's, and its throughput over the baseline's;\n")
		b.WriteString(" in edge: as the edge timed its own handlers (its histogram's bucket bounds, at most ~12% high),\n")
		b.WriteString(" without the waits outside them; reported, not judged)\n")
	} else {
		b.WriteString("(latency over successful requests in the measured window; cpu in cores busy)\n")
	}

	for _, p := range r.phases() {
		writeKinds(&b, p.Name+" errors", p.ErrorKinds)
		writeKinds(&b, p.Name+" warmup errors", p.WarmupErrorKinds)
		if a := p.Aborted; a != nil {
			fmt.Fprintf(&b, "\n%s stopped at the first %s: %s\n", p.Name, a.Kind, a.Example)
		}
	}

	if j := r.Jobs; j != nil {
		fmt.Fprintf(&b, "\njobs     %d accepted (%d during warmup): %d succeeded, %d failed, %d canceled, %d lost, %d unfinished\n",
			j.Tracked, j.FromWarmup, j.Succeeded, j.Failed, j.Canceled, j.Lost, j.Unfinished)
		if j.LastFinishS != nil {
			fmt.Fprintf(&b, "         %d finished %.2fs after the submit phase started: %.1f jobs/s\n",
				j.Succeeded+j.Failed+j.Canceled, *j.LastFinishS, j.JobsPerS)
		} else {
			b.WriteString("         no job finished\n")
		}
		fmt.Fprintf(&b, "         drain took %.2fs, %d status polls, %d poll errors\n", j.DrainS, j.Polls, j.PollErrors)
		writeKinds(&b, "job failure codes", j.FailureCodes)
		writeKinds(&b, "poll errors", j.PollErrorKinds)
	}

	b.WriteString("\n")
	for _, w := range r.Verdict.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	if r.Chain != nil {
		fmt.Fprintln(&b, r.Chain.summary())
	}
	if r.Verdict.Pass {
		target := fmtMS(r.Config.P99TargetMS)
		chain := ""
		if r.Chain != nil {
			chain = ", chain within budget"
		}
		fmt.Fprintf(&b, "verdict: PASS (submit p99 %s <= %s, no submit errors, no failed jobs%s)\n", fmtMS(r.Submit.LatencyMS.P99), target, chain)
	} else {
		fmt.Fprintf(&b, "verdict: FAIL (%s)\n", strings.Join(r.Verdict.Reasons, "; "))
	}
	return b.String()
}

func writeKinds(b *strings.Builder, title string, kinds []errorCount) {
	if len(kinds) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s:\n", title)
	for _, k := range kinds {
		if k.Example != "" {
			fmt.Fprintf(b, "  %8d  %s  (e.g. %q)\n", k.Count, k.Kind, truncate(k.Example, 120))
		} else {
			fmt.Fprintf(b, "  %8d  %s\n", k.Count, k.Kind)
		}
	}
}

func fmtMS(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.2fs", v/1000)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	default:
		return fmt.Sprintf("%.2fms", v)
	}
}

func fmtRatio(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", *v)
}

func fmtCores(v *float64, of int) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.1f/%d", *v, of)
}
