package placement

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// pick returns a random element of xs.
func pick[T any](rng *rand.Rand, xs ...T) T { return xs[rng.IntN(len(xs))] }

// randomRound builds a snapshot and queue that exercise every rule at once:
// mixed devices (one unknown), backends, regions, over-committed and
// zero-slot workers, repeated enqueue times, tiers and in-flight counts. IDs
// are unique so that input order may not change the result.
func randomRound(rng *rand.Rand) (Snapshot, []Job) {
	snap := Snapshot{Region: pick(rng, "eu", "eu", ""), AllowSpill: rng.IntN(2) == 0, InFlight: map[string]int{}}
	for i := range rng.IntN(11) {
		var backends []string
		for _, b := range []string{"onnx", "trt", "tess"} {
			if rng.IntN(2) == 0 {
				backends = append(backends, b)
			}
		}
		snap.Workers = append(snap.Workers, Worker{
			ID: fmt.Sprintf("w%02d", i), Node: fmt.Sprintf("n%d", i%3),
			Region: pick(rng, "", "eu", "us"), Device: pick(rng, "gpu", "cpu", "gpu", "cpu", "tpu"),
			Backends: backends, Slots: rng.IntN(7), InUse: rng.IntN(9) - 1,
		})
	}
	tenants := []string{"t0", "t1", "t2", "t3", "t4", "t5"}
	for _, tn := range tenants {
		if rng.IntN(3) == 0 {
			snap.InFlight[tn] = rng.IntN(5)
		}
	}
	jobs := make([]Job, rng.IntN(301))
	for i := range jobs {
		jobs[i] = Job{
			ID: fmt.Sprintf("j%03d", i), Tenant: pick(rng, tenants...), Priority: pick(rng, 0, 10, 100),
			Device: pick(rng, "", "auto", "gpu", "cpu", "gpu", "cpu", "fpga"), Region: pick(rng, "", "", "eu", "us"),
			Backend: pick(rng, "", "", "onnx", "trt"), EnqueuedAt: at(rng.IntN(100)),
		}
	}
	return snap, jobs
}

// model restates the placement rules independently of the implementation,
// for checking its output.
type model struct{ snap Snapshot }

func (m model) home(w Worker, j Job) bool {
	home, region := j.Region, w.Region
	if home == "" {
		home = m.snap.Region
	}
	if region == "" {
		region = m.snap.Region
	}
	return home == "" || home == region
}

func (m model) fits(w Worker, j Job) bool {
	device := j.Device
	if device == "" {
		device = "auto"
	}
	okDevice := w.Device == device || (device == "auto" && (w.Device == "gpu" || w.Device == "cpu"))
	okBackend := j.Backend == "" || slices.Contains(w.Backends, j.Backend)
	return okDevice && okBackend && (m.snap.AllowSpill || m.home(w, j))
}

func TestPlaceInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 400 {
		snap, pending := randomRound(rng)
		for _, scorer := range []string{LeastLoaded, BinPack} {
			t.Run(fmt.Sprintf("round %d %s", round, scorer), func(t *testing.T) {
				res := place(t, scorer, snap, pending) // checks each job is answered once
				checkInvariants(t, snap, pending, res)
				if again := place(t, scorer, snap, pending); !reflect.DeepEqual(res, again) {
					t.Fatal("same input, different output")
				}
			})
		}
	}
}

func checkInvariants(t *testing.T, snap Snapshot, pending []Job, res result) {
	t.Helper()
	m := model{snap}
	workers := map[string]Worker{}
	free := map[string]int{}
	for _, w := range snap.Workers {
		workers[w.ID] = w
		free[w.ID] = max(w.Slots-max(w.InUse, 0), 0)
	}
	jobs := map[string]Job{}
	for _, j := range pending {
		jobs[j.ID] = j
	}
	on := map[string][]Job{} // worker ID → jobs placed on it
	for _, a := range res.assigned {
		j, w := jobs[a.JobID], workers[a.WorkerID]
		if w.ID == "" || j.ID == "" {
			t.Fatalf("assignment %v names an unknown job or worker", a)
		}
		if !m.fits(w, j) {
			t.Errorf("job %+v placed on a worker it may not use: %+v", j, w)
		}
		free[w.ID]--
		on[w.ID] = append(on[w.ID], j)
	}
	for id, f := range free {
		if f < 0 {
			t.Errorf("worker %s over its slots by %d", id, -f)
		}
	}
	// A job went to a less preferred worker only if every more preferred
	// one was full at the end (free slots only shrink within a round).
	for _, a := range res.assigned {
		j, w := jobs[a.JobID], workers[a.WorkerID]
		for _, o := range snap.Workers {
			if !m.fits(o, j) || free[o.ID] == 0 {
				continue
			}
			if !m.home(w, j) && m.home(o, j) {
				t.Errorf("job %s spilled to %s while home worker %s had room", j.ID, w.ID, o.ID)
			}
			if w.Device == "gpu" && o.Device == "cpu" && m.home(w, j) == m.home(o, j) {
				t.Errorf("auto job %s took GPU %s while CPU %s in the same region had room", j.ID, w.ID, o.ID)
			}
		}
	}
	// A waiting job had nowhere to go, and nothing of lower priority took a
	// slot it could have used.
	for _, wt := range res.waiting {
		j := jobs[wt.JobID]
		if wt.Reason == "" {
			t.Errorf("job %s waits without a reason", j.ID)
		}
		for _, o := range snap.Workers {
			if !m.fits(o, j) {
				continue
			}
			if free[o.ID] > 0 {
				t.Errorf("job %s waits (%s) while worker %s has room", j.ID, wt.Reason, o.ID)
			}
			for _, other := range on[o.ID] {
				if other.Priority < j.Priority {
					t.Errorf("job %s (priority %d) waits while %s (priority %d) took worker %s", j.ID, j.Priority, other.ID, other.Priority, o.ID)
				}
				// Nor could one placed job have stepped aside for it
				// to a free worker in the same region group.
				for _, v := range snap.Workers {
					if free[v.ID] > 0 && m.fits(v, other) && m.home(v, other) == m.home(o, other) {
						t.Errorf("job %s waits while %s could move from %s to %s", j.ID, other.ID, o.ID, v.ID)
					}
				}
			}
		}
	}
}
