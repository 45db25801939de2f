package placement

import (
	"errors"
	"slices"
	"testing"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		scorer  string
		wantErr bool
	}{
		{name: "least-loaded", scorer: LeastLoaded},
		{name: "bin-pack", scorer: BinPack},
		{name: "empty name is not a default", scorer: "", wantErr: true},
		{name: "typo", scorer: "binpack", wantErr: true},
		{name: "case matters", scorer: "Least-Loaded", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.scorer)
			if tt.wantErr {
				if !errors.Is(err, ErrUnknownScorer) || s != nil {
					t.Fatalf("New(%q) = %v, %v; want nil, ErrUnknownScorer", tt.scorer, s, err)
				}
				return
			}
			if err != nil || s.Name() != tt.scorer {
				t.Fatalf("New(%q) = %v, %v; want a scorer named %q", tt.scorer, s, err, tt.scorer)
			}
		})
	}
}

func TestScorers(t *testing.T) {
	tests := []struct {
		name    string
		scorer  string
		workers []Worker
		jobs    int
		want    []string // worker per job, in placement order
	}{
		{
			name: "least-loaded spreads over idle workers", scorer: LeastLoaded, jobs: 4,
			workers: []Worker{worker("a", "cpu", 4, 0), worker("b", "cpu", 4, 0), worker("c", "cpu", 4, 0)},
			want:    []string{"a", "b", "c", "a"},
		},
		{
			name: "least-loaded compares shares, not counts", scorer: LeastLoaded, jobs: 4,
			workers: []Worker{worker("a", "cpu", 4, 0), worker("b", "cpu", 4, 1), worker("c", "cpu", 8, 0)},
			want:    []string{"a", "c", "c", "a"},
		},
		{
			name: "bin-pack fills the fullest worker with room", scorer: BinPack, jobs: 4,
			workers: []Worker{worker("a", "cpu", 4, 0), worker("b", "cpu", 4, 1), worker("c", "cpu", 8, 0)},
			want:    []string{"b", "b", "b", "a"},
		},
		{
			name: "bin-pack keeps idle workers idle", scorer: BinPack, jobs: 3,
			workers: []Worker{worker("a", "cpu", 4, 0), worker("b", "cpu", 4, 0), worker("c", "cpu", 4, 2)},
			want:    []string{"c", "c", "a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := place(t, tt.scorer, Snapshot{Workers: tt.workers}, nJobs("j", "acme", tt.jobs, 0))
			got := make([]string, len(res.assigned))
			for i, a := range res.assigned {
				got[i] = a.WorkerID
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("workers %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewPlacerNilScorerIsLeastLoaded(t *testing.T) {
	snap := Snapshot{Workers: []Worker{worker("a", "cpu", 4, 3), worker("b", "cpu", 4, 0)}}
	assigned, _ := NewPlacer(nil).Place(snap, nJobs("j", "acme", 1, 0))
	if len(assigned) != 1 || assigned[0].WorkerID != "b" {
		t.Fatalf("assigned %v, want j0000 on the emptier worker b", assigned)
	}
}
