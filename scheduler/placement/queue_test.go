package placement

import (
	"slices"
	"testing"
)

func withPriority(jobs []Job, p int) []Job {
	for i := range jobs {
		jobs[i].Priority = p
	}
	return jobs
}

// jobIDs lists the assigned job IDs in placement order.
func jobIDs(as []Assignment) []string {
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.JobID
	}
	return ids
}

func TestPlacePriority(t *testing.T) {
	const enterprise, apiKey, free = 100, 10, 0
	tests := []struct {
		name  string
		slots int
		jobs  []Job
		want  []string // assigned, in order
	}{
		{
			name:  "enterprise before an older free job",
			slots: 1,
			jobs: []Job{
				{ID: "free", Tenant: "f", Priority: free, EnqueuedAt: at(0)},
				{ID: "ent", Tenant: "e", Priority: enterprise, EnqueuedAt: at(9)},
			},
			want: []string{"ent"},
		},
		{
			name:  "tiers in order",
			slots: 2,
			jobs: []Job{
				{ID: "free", Tenant: "f", Priority: free, EnqueuedAt: at(0)},
				{ID: "api", Tenant: "a", Priority: apiKey, EnqueuedAt: at(1)},
				{ID: "ent", Tenant: "e", Priority: enterprise, EnqueuedAt: at(2)},
			},
			want: []string{"ent", "api"},
		},
		{
			name:  "a flood of enterprise jobs goes before free",
			slots: 3,
			jobs: append([]Job{{ID: "free", Tenant: "f", Priority: free, EnqueuedAt: at(-1)}},
				withPriority(nJobs("e", "e", 3, 0), enterprise)...),
			want: []string{"e0000", "e0001", "e0002"},
		},
		{
			name:  "a lower tier fills what a higher tier cannot use",
			slots: 2,
			jobs: []Job{
				{ID: "ent-gpu", Tenant: "e", Priority: enterprise, Device: "gpu", EnqueuedAt: at(0)},
				{ID: "free", Tenant: "f", Priority: free, EnqueuedAt: at(1)},
			},
			want: []string{"free"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := Snapshot{Workers: []Worker{worker("c1", "cpu", tt.slots, 0)}}
			res := place(t, LeastLoaded, snap, tt.jobs)
			if got := jobIDs(res.assigned); !slices.Equal(got, tt.want) {
				t.Errorf("assigned %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPlaceFairness(t *testing.T) {
	flood := nJobs("a", "A", 1000, 0) // queued first
	tests := []struct {
		name     string
		slots    int
		inFlight map[string]int
		jobs     []Job
		// want is how many slots each tenant gets; within is the latest
		// position (0-based) the job firstID may take in the assignments.
		want    map[string]int
		firstID string
		within  int
	}{
		{
			name:    "a single job is not stuck behind another tenant's flood",
			slots:   4,
			jobs:    append(slices.Clone(flood), Job{ID: "b", Tenant: "B", EnqueuedAt: at(1000)}),
			want:    map[string]int{"A": 3, "B": 1},
			firstID: "b", within: 1,
		},
		{
			name:     "a tenant already holding slots yields to one holding none",
			slots:    2,
			inFlight: map[string]int{"A": 3},
			jobs:     append(slices.Clone(flood), Job{ID: "b", Tenant: "B", EnqueuedAt: at(1000)}),
			want:     map[string]int{"A": 1, "B": 1},
			firstID:  "b", within: 0,
		},
		{
			name:     "in-flight slots are evened out first",
			slots:    3,
			inFlight: map[string]int{"A": 3},
			jobs:     append(slices.Clone(flood), nJobs("b", "B", 10, 2000)...),
			want:     map[string]int{"A": 0, "B": 3},
			firstID:  "b0000", within: 0,
		},
		{
			name:  "equal floods share evenly",
			slots: 6,
			jobs:  slices.Concat(nJobs("a", "A", 100, 0), nJobs("b", "B", 100, 500), nJobs("c", "C", 100, 900)),
			want:  map[string]int{"A": 2, "B": 2, "C": 2},
		},
		{
			name:  "jobs that wait do not use up a tenant's turn",
			slots: 2,
			jobs: slices.Concat(
				[]Job{{ID: "a-gpu1", Tenant: "A", Device: "gpu", EnqueuedAt: at(0)}, {ID: "a-gpu2", Tenant: "A", Device: "gpu", EnqueuedAt: at(1)}},
				[]Job{{ID: "a-cpu", Tenant: "A", Device: "cpu", EnqueuedAt: at(10)}},
				nJobs("b", "B", 10, 5),
			),
			want:    map[string]int{"A": 1, "B": 1},
			firstID: "a-cpu", within: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := Snapshot{Workers: []Worker{worker("c1", "cpu", tt.slots, 0)}, InFlight: tt.inFlight}
			res := place(t, LeastLoaded, snap, tt.jobs)
			tenant := map[string]string{}
			for _, j := range tt.jobs {
				tenant[j.ID] = j.Tenant
			}
			got := map[string]int{}
			for _, a := range res.assigned {
				got[tenant[a.JobID]]++
			}
			for tn, n := range tt.want {
				if got[tn] != n {
					t.Errorf("tenant %s got %d slots, want %d (all: %v)", tn, got[tn], n, got)
				}
			}
			if tt.firstID != "" {
				if pos := slices.Index(jobIDs(res.assigned), tt.firstID); pos < 0 || pos > tt.within {
					t.Errorf("job %s at position %d of %v, want within %d", tt.firstID, pos, jobIDs(res.assigned), tt.within)
				}
			}
		})
	}
}

func TestPlaceFIFOWithinTenant(t *testing.T) {
	tests := []struct {
		name string
		jobs []Job
		want []string
	}{
		{
			name: "by enqueue time, whatever the input order",
			jobs: []Job{
				{ID: "j1", EnqueuedAt: at(3)}, {ID: "j2", EnqueuedAt: at(1)}, {ID: "j3", EnqueuedAt: at(4)}, {ID: "j4", EnqueuedAt: at(2)},
			},
			want: []string{"j2", "j4", "j1"},
		},
		{
			name: "same time by ID",
			jobs: []Job{{ID: "c", EnqueuedAt: at(1)}, {ID: "a", EnqueuedAt: at(1)}, {ID: "b", EnqueuedAt: at(1)}, {ID: "z", EnqueuedAt: at(0)}},
			want: []string{"z", "a", "b"},
		},
		{
			name: "a repeated ID is placed once",
			jobs: []Job{{ID: "a", EnqueuedAt: at(0)}, {ID: "a", EnqueuedAt: at(0)}, {ID: "b", EnqueuedAt: at(1)}},
			want: []string{"a", "b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range tt.jobs {
				tt.jobs[i].Tenant = "acme"
			}
			s, err := New(LeastLoaded)
			if err != nil {
				t.Fatal(err)
			}
			assigned, waiting := NewPlacer(s).Place(Snapshot{Workers: []Worker{worker("c1", "cpu", 3, 0)}}, tt.jobs)
			if got := jobIDs(assigned); !slices.Equal(got, tt.want) {
				t.Errorf("assigned %v, want %v", got, tt.want)
			}
			unique := map[string]bool{}
			for _, j := range tt.jobs {
				unique[j.ID] = true
			}
			if len(assigned)+len(waiting) != len(unique) {
				t.Errorf("%d assigned + %d waiting, want %d distinct jobs answered once", len(assigned), len(waiting), len(unique))
			}
		})
	}
}
