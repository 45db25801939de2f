package placement

import (
	"errors"
	"fmt"
)

// Names of the scoring strategies New accepts.
const (
	// LeastLoaded spreads jobs: the worker with the smallest share of its
	// slots in use wins.
	LeastLoaded = "least-loaded"
	// BinPack packs jobs: the fullest worker that still has room wins, so
	// idle allocations stay idle and the autoscaler can remove them.
	BinPack = "bin-pack"
)

// ErrUnknownScorer is returned by New for a name it does not know.
var ErrUnknownScorer = errors.New("unknown scorer")

// New returns the Scorer called name. An unknown name, "" included, is an
// error rather than a default, so a typo in configuration never silently
// changes how the cluster is packed.
func New(name string) (Scorer, error) {
	switch name {
	case LeastLoaded:
		return newLeastLoaded(), nil
	case BinPack:
		return newBinPack(), nil
	default:
		return nil, fmt.Errorf("creating scorer %q: %w (want %s or %s)", name, ErrUnknownScorer, LeastLoaded, BinPack)
	}
}

// utilization is the share of w's slots in use, from 0 (idle) to 1 (full).
// It is a ratio rather than a count so that a big allocation and a small one
// are compared by how busy they are, not by how big.
func utilization(w Worker) float64 {
	if w.Slots <= 0 {
		return 1
	}
	return float64(min(max(w.InUse, 0), w.Slots)) / float64(w.Slots)
}
