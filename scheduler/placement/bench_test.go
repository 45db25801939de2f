package placement

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// benchRound is the benchmark round: 1,000 tiny jobs from 50
// tenants in three tiers, mostly auto with some gpu and cpu, and 8 workers
// (4 CPU, 4 GPU) with enough slots between them for all.
func benchRound() (Snapshot, []Job) {
	var snap Snapshot
	for i := range 8 {
		snap.Workers = append(snap.Workers, Worker{
			ID: fmt.Sprintf("w%d", i), Device: []string{"cpu", "gpu"}[i%2],
			Backends: []string{"onnx"}, Slots: 130, InUse: i,
		})
	}
	jobs := make([]Job, 1000)
	for i := range jobs {
		jobs[i] = Job{
			ID: fmt.Sprintf("job-%04d", i), Tenant: fmt.Sprintf("tenant-%02d", i%50), Priority: []int{0, 10, 100}[i%3],
			Device: []string{"gpu", "cpu", "auto", "auto", "auto"}[i%5], Backend: []string{"", "onnx"}[i%2],
			EnqueuedAt: at(i),
		}
	}
	return snap, jobs
}

// fifoFirstFit is the naive baseline: oldest job first, first worker with a
// free slot and the right device and backend; no priority, fairness,
// regions or scoring.
func fifoFirstFit(snap Snapshot, pending []Job) []Assignment {
	jobs := slices.Clone(pending)
	slices.SortStableFunc(jobs, func(a, b Job) int { return a.EnqueuedAt.Compare(b.EnqueuedAt) })
	free := make([]int, len(snap.Workers))
	for i, w := range snap.Workers {
		free[i] = max(w.Slots-w.InUse, 0)
	}
	var out []Assignment
	for _, j := range jobs {
		for i, w := range snap.Workers {
			if free[i] > 0 && (j.Device == "auto" || j.Device == w.Device) && (j.Backend == "" || slices.Contains(w.Backends, j.Backend)) {
				free[i]--
				out = append(out, Assignment{JobID: j.ID, WorkerID: w.ID})
				break
			}
		}
	}
	return out
}

// BenchmarkPlace reports placed jobs per second for each scorer and, as
// baseline-ratio, how many times the FIFO first-fit baseline's time per
// round it takes, timed for as many rounds in the same run.
func BenchmarkPlace(b *testing.B) {
	snap, jobs := benchRound()
	for _, name := range []string{LeastLoaded, BinPack} {
		b.Run(name, func(b *testing.B) {
			s, err := New(name)
			if err != nil {
				b.Fatal(err)
			}
			p := NewPlacer(s)
			placed := 0
			for b.Loop() {
				assigned, _ := p.Place(snap, jobs)
				placed = len(assigned)
			}
			if placed != len(jobs) {
				b.Fatalf("placed %d of %d jobs", placed, len(jobs))
			}
			elapsed := b.Elapsed()
			b.ReportMetric(float64(placed*b.N)/elapsed.Seconds(), "jobs/s")
			start := time.Now()
			for range b.N {
				fifoFirstFit(snap, jobs)
			}
			b.ReportMetric(float64(elapsed)/float64(time.Since(start)), "baseline-ratio")
		})
	}
}

// BenchmarkPlaceBaseline reports placed jobs per second for the FIFO
// first-fit baseline on the same round, and how many it placed.
func BenchmarkPlaceBaseline(b *testing.B) {
	snap, jobs := benchRound()
	placed := 0
	for b.Loop() {
		placed = len(fifoFirstFit(snap, jobs))
	}
	// First fit strands some cpu jobs behind auto jobs on the CPU workers,
	// so it places fewer than all; the count is reported, not asserted.
	b.ReportMetric(float64(placed), "placed")
	b.ReportMetric(float64(placed*b.N)/b.Elapsed().Seconds(), "jobs/s")
}
