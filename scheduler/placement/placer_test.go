package placement

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// at is t0 plus n seconds, to write enqueue order compactly.
func at(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

func worker(id, device string, slots, inUse int, backends ...string) Worker {
	return Worker{ID: id, Node: "node-" + id, Device: device, Slots: slots, InUse: inUse, Backends: backends}
}

// result is one round's outcome, indexed for assertions.
type result struct {
	assigned []Assignment
	waiting  []Wait
	worker   map[string]string // job ID → worker ID
	reason   map[string]string // job ID → wait reason
}

// place runs one round with the named scorer and checks that every job is
// answered exactly once, which every test relies on.
func place(t *testing.T, scorer string, snap Snapshot, pending []Job) result {
	t.Helper()
	s, err := New(scorer)
	if err != nil {
		t.Fatal(err)
	}
	a, w := NewPlacer(s).Place(snap, pending)
	res := result{assigned: a, waiting: w, worker: map[string]string{}, reason: map[string]string{}}
	for _, x := range a {
		res.worker[x.JobID] = x.WorkerID
	}
	for _, x := range w {
		res.reason[x.JobID] = x.Reason
	}
	if len(res.worker) != len(a) || len(res.reason) != len(w) || len(a)+len(w) != len(pending) {
		t.Fatalf("jobs not answered exactly once: %d pending, %d assigned, %d waiting", len(pending), len(a), len(w))
	}
	return res
}

func nJobs(prefix, tenant string, n int, first int) []Job {
	jobs := make([]Job, n)
	for i := range jobs {
		jobs[i] = Job{ID: fmt.Sprintf("%s%04d", prefix, i), Tenant: tenant, Device: "auto", EnqueuedAt: at(first + i)}
	}
	return jobs
}

func TestPlaceSlotLimits(t *testing.T) {
	tests := []struct {
		name    string
		workers []Worker
		want    map[string]int // worker ID → jobs it gets
	}{
		{name: "fills free slots exactly", workers: []Worker{worker("a", "cpu", 3, 1)}, want: map[string]int{"a": 2}},
		{name: "full worker takes none", workers: []Worker{worker("a", "cpu", 2, 2)}, want: map[string]int{}},
		{name: "over-committed worker takes none", workers: []Worker{worker("a", "cpu", 2, 5)}, want: map[string]int{}},
		{name: "zero slots", workers: []Worker{worker("a", "cpu", 0, 0)}, want: map[string]int{}},
		{name: "negative in-use counts as zero", workers: []Worker{worker("a", "cpu", 2, -3)}, want: map[string]int{"a": 2}},
		{name: "several workers", workers: []Worker{worker("a", "cpu", 2, 0), worker("b", "gpu", 4, 3)}, want: map[string]int{"a": 2, "b": 1}},
		{name: "duplicate worker ID counts once", workers: []Worker{worker("a", "cpu", 2, 1), worker("a", "cpu", 9, 0)}, want: map[string]int{"a": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := place(t, LeastLoaded, Snapshot{Workers: tt.workers}, nJobs("j", "acme", 5, 0))
			got := map[string]int{}
			for _, w := range res.worker {
				got[w]++
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("jobs per worker = %v, want %v", got, tt.want)
			}
			for id, reason := range res.reason {
				if reason != "all workers busy" {
					t.Errorf("job %s waits with %q, want %q", id, reason, "all workers busy")
				}
			}
		})
	}
}

func TestPlaceDevices(t *testing.T) {
	cpuFree, gpuFree := worker("c1", "cpu", 4, 0), worker("g1", "gpu", 4, 0)
	cpuFull, gpuFull := worker("c1", "cpu", 4, 4), worker("g1", "gpu", 4, 4)
	tests := []struct {
		name       string
		workers    []Worker
		device     string
		scorer     string
		wantWorker string
		wantReason string
	}{
		{name: "gpu job takes a GPU worker", workers: []Worker{cpuFree, gpuFree}, device: "gpu", wantWorker: "g1"},
		{name: "cpu job takes a CPU worker", workers: []Worker{cpuFree, gpuFree}, device: "cpu", wantWorker: "c1"},
		{name: "gpu job waits when no GPU worker is healthy", workers: []Worker{cpuFree}, device: "gpu", wantReason: "no healthy GPU worker"},
		{name: "gpu job waits when GPU workers are busy", workers: []Worker{cpuFree, gpuFull}, device: "gpu", wantReason: "all GPU workers busy"},
		{name: "cpu job never runs on a GPU", workers: []Worker{gpuFree}, device: "cpu", wantReason: "no healthy CPU worker"},
		{name: "cpu job waits when CPU workers are busy", workers: []Worker{cpuFull, gpuFree}, device: "cpu", wantReason: "all CPU workers busy"},
		{name: "auto prefers CPU", workers: []Worker{gpuFree, cpuFree}, device: "auto", wantWorker: "c1"},
		{name: "auto prefers CPU even when bin-pack likes the GPU", workers: []Worker{worker("g1", "gpu", 4, 3), cpuFree}, device: "auto", scorer: BinPack, wantWorker: "c1"},
		{name: "auto takes a GPU when CPUs are full", workers: []Worker{cpuFull, gpuFree}, device: "auto", wantWorker: "g1"},
		{name: "no device means auto", workers: []Worker{gpuFree, cpuFree}, device: "", wantWorker: "c1"},
		{name: "auto waits when everything is busy", workers: []Worker{cpuFull, gpuFull}, device: "auto", wantReason: "all workers busy"},
		{name: "auto waits when nothing is healthy", workers: nil, device: "auto", wantReason: "no healthy worker"},
		{name: "worker of unknown device gets nothing", workers: []Worker{worker("t1", "tpu", 4, 0)}, device: "auto", wantReason: "no healthy worker"},
		{name: "unknown job device waits", workers: []Worker{cpuFree, gpuFree}, device: "tpu", wantReason: `unknown device "tpu" (want auto, gpu or cpu)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scorer := cmpOr(tt.scorer, LeastLoaded)
			res := place(t, scorer, Snapshot{Workers: tt.workers}, []Job{{ID: "j", Tenant: "acme", Device: tt.device}})
			if res.worker["j"] != tt.wantWorker || res.reason["j"] != tt.wantReason {
				t.Errorf("got worker %q reason %q, want worker %q reason %q", res.worker["j"], res.reason["j"], tt.wantWorker, tt.wantReason)
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestPlaceBackend(t *testing.T) {
	tests := []struct {
		name       string
		workers    []Worker
		backend    string
		wantWorker string
		wantReason string
	}{
		{name: "takes the worker with the backend though another is emptier", workers: []Worker{worker("g1", "gpu", 4, 0, "onnx-cuda"), worker("g2", "gpu", 4, 3, "onnx-cuda", "tensorrt")}, backend: "tensorrt", wantWorker: "g2"},
		{name: "no backend named takes any", workers: []Worker{worker("g1", "gpu", 4, 0, "onnx-cuda"), worker("g2", "gpu", 4, 3, "tensorrt")}, wantWorker: "g1"},
		{name: "waits when no worker has the backend", workers: []Worker{worker("g1", "gpu", 4, 0, "onnx-cuda")}, backend: "tensorrt", wantReason: `no healthy GPU worker with backend "tensorrt"`},
		{name: "waits when workers with the backend are busy", workers: []Worker{worker("g1", "gpu", 4, 0, "onnx-cuda"), worker("g2", "gpu", 2, 2, "tensorrt")}, backend: "tensorrt", wantReason: `all GPU workers with backend "tensorrt" busy`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := place(t, LeastLoaded, Snapshot{Workers: tt.workers}, []Job{{ID: "j", Tenant: "acme", Device: "gpu", Backend: tt.backend}})
			if res.worker["j"] != tt.wantWorker || res.reason["j"] != tt.wantReason {
				t.Errorf("got worker %q reason %q, want worker %q reason %q", res.worker["j"], res.reason["j"], tt.wantWorker, tt.wantReason)
			}
		})
	}
}

func TestPlaceRegions(t *testing.T) {
	const noSpill = " (spilling to other regions is not allowed)"
	eu := func(id, device string, slots, inUse int) Worker {
		w := worker(id, device, slots, inUse)
		w.Region = "eu"
		return w
	}
	us := func(id, device string, slots, inUse int) Worker {
		w := worker(id, device, slots, inUse)
		w.Region = "us"
		return w
	}
	tests := []struct {
		name       string
		workers    []Worker
		spill      bool
		job        Job
		wantWorker string
		wantReason string
	}{
		{name: "home first though away is emptier", workers: []Worker{eu("eu1", "cpu", 4, 3), us("us1", "cpu", 4, 0)}, spill: true, job: Job{Device: "cpu"}, wantWorker: "eu1"},
		{name: "job's own region over the scheduler's", workers: []Worker{eu("eu1", "cpu", 4, 0), us("us1", "cpu", 4, 3)}, job: Job{Device: "cpu", Region: "us"}, wantWorker: "us1"},
		{name: "worker without region is in the scheduler's", workers: []Worker{worker("local", "cpu", 4, 3), us("us1", "cpu", 4, 0)}, job: Job{Device: "cpu"}, wantWorker: "local"},
		{name: "spills when allowed and home is full", workers: []Worker{eu("eu1", "cpu", 4, 4), us("us1", "cpu", 4, 0)}, spill: true, job: Job{Device: "cpu"}, wantWorker: "us1"},
		{name: "does not spill when not allowed", workers: []Worker{eu("eu1", "cpu", 4, 4), us("us1", "cpu", 4, 0)}, job: Job{Device: "cpu"}, wantReason: `all CPU workers busy in region "eu"` + noSpill},
		{name: "does not spill to reach a missing device", workers: []Worker{eu("eu1", "cpu", 4, 0), us("us1", "gpu", 4, 0)}, job: Job{Device: "gpu"}, wantReason: `no healthy GPU worker in region "eu"` + noSpill},
		{name: "spills to reach a missing device when allowed", workers: []Worker{eu("eu1", "cpu", 4, 0), us("us1", "gpu", 4, 0)}, spill: true, job: Job{Device: "gpu"}, wantWorker: "us1"},
		{name: "auto takes a home GPU before a foreign CPU", workers: []Worker{eu("eu-c", "cpu", 4, 4), eu("eu-g", "gpu", 4, 0), us("us-c", "cpu", 4, 0)}, spill: true, job: Job{Device: "auto"}, wantWorker: "eu-g"},
		{name: "waits when home and away are busy", workers: []Worker{eu("eu1", "cpu", 1, 1), us("us1", "cpu", 1, 1)}, spill: true, job: Job{Device: "cpu"}, wantReason: `all CPU workers busy in region "eu" and in other regions`},
		{name: "waits when home has none and away is busy", workers: []Worker{us("us1", "cpu", 1, 1)}, spill: true, job: Job{Device: "cpu"}, wantReason: `no healthy CPU worker in region "eu" and all in other regions busy`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.job.ID, tt.job.Tenant = "j", "acme"
			snap := Snapshot{Workers: tt.workers, Region: "eu", AllowSpill: tt.spill}
			res := place(t, LeastLoaded, snap, []Job{tt.job})
			if res.worker["j"] != tt.wantWorker || res.reason["j"] != tt.wantReason {
				t.Errorf("got worker %q reason %q, want worker %q reason %q", res.worker["j"], res.reason["j"], tt.wantWorker, tt.wantReason)
			}
		})
	}
}

func TestPlaceDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, scorer := range []string{LeastLoaded, BinPack} {
		t.Run(scorer, func(t *testing.T) {
			snap, pending := randomRound(rng)
			snap.Workers = append(snap.Workers, worker("extra", "cpu", 8, 0)) // make sure something is placed
			before := slices.Clone(snap.Workers)
			first := place(t, scorer, snap, pending)
			again := place(t, scorer, snap, pending)
			if !reflect.DeepEqual(first, again) {
				t.Fatal("same input, different output")
			}
			if !reflect.DeepEqual(snap.Workers, before) {
				t.Fatal("Place modified the snapshot's workers")
			}
			// Input order must not matter either: the scheduler reads the
			// queue and Consul in whatever order they answer.
			shuffled := snap
			shuffled.Workers = slices.Clone(snap.Workers)
			slices.Reverse(shuffled.Workers)
			reversed := slices.Clone(pending)
			slices.Reverse(reversed)
			if other := place(t, scorer, shuffled, reversed); !reflect.DeepEqual(first, other) {
				t.Fatal("reordered input, different output")
			}
			if len(first.assigned) == 0 || len(first.waiting) == 0 {
				t.Fatalf("want a round that both places and leaves waiting, got %d and %d", len(first.assigned), len(first.waiting))
			}
		})
	}
}
