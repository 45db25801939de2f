package placement

import (
	"reflect"
	"testing"
)

func TestPlaceRepair(t *testing.T) {
	tests := []struct {
		name    string
		workers []Worker
		spill   bool
		jobs    []Job
		want    []Assignment // in the order the jobs were considered
	}{
		{
			name:    "an auto job moves to an idle GPU for a cpu job",
			workers: []Worker{worker("c1", "cpu", 1, 0), worker("g1", "gpu", 1, 0)},
			jobs:    []Job{{ID: "auto", Device: "auto", EnqueuedAt: at(0)}, {ID: "cpu", Device: "cpu", EnqueuedAt: at(1)}},
			want:    []Assignment{{"auto", "g1"}, {"cpu", "c1"}},
		},
		{
			name:    "the auto job considered last is the one that moves",
			workers: []Worker{worker("c1", "cpu", 2, 0), worker("g1", "gpu", 1, 0)},
			jobs: []Job{
				{ID: "auto1", Device: "auto", EnqueuedAt: at(0)}, {ID: "auto2", Device: "auto", EnqueuedAt: at(1)},
				{ID: "cpu", Device: "cpu", EnqueuedAt: at(2)},
			},
			want: []Assignment{{"auto1", "c1"}, {"auto2", "g1"}, {"cpu", "c1"}},
		},
		{
			name:    "a job needing no backend makes way for one that does",
			workers: []Worker{worker("a", "gpu", 1, 0, "tensorrt"), worker("b", "gpu", 1, 0, "onnx")},
			jobs:    []Job{{ID: "any", Device: "gpu", EnqueuedAt: at(0)}, {ID: "trt", Device: "gpu", Backend: "tensorrt", EnqueuedAt: at(1)}},
			want:    []Assignment{{"any", "b"}, {"trt", "a"}},
		},
		{
			name:    "no move into another region",
			workers: []Worker{{ID: "c1", Region: "eu", Device: "cpu", Slots: 1}, {ID: "g1", Region: "us", Device: "gpu", Slots: 1}},
			spill:   true,
			jobs:    []Job{{ID: "auto", Device: "auto", EnqueuedAt: at(0)}, {ID: "cpu", Device: "cpu", EnqueuedAt: at(1)}},
			want:    []Assignment{{"auto", "c1"}},
		},
		{
			name:    "no move when the other job has nowhere to go",
			workers: []Worker{worker("c1", "cpu", 1, 0), worker("g1", "gpu", 1, 1)},
			jobs:    []Job{{ID: "auto", Device: "auto", EnqueuedAt: at(0)}, {ID: "cpu", Device: "cpu", EnqueuedAt: at(1)}},
			want:    []Assignment{{"auto", "c1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range tt.jobs {
				tt.jobs[i].Tenant = "acme"
			}
			res := place(t, LeastLoaded, Snapshot{Workers: tt.workers, Region: "eu", AllowSpill: tt.spill}, tt.jobs)
			if !reflect.DeepEqual(res.assigned, tt.want) {
				t.Errorf("assigned %v, want %v", res.assigned, tt.want)
			}
		})
	}
}
