package placement

// leastLoaded is the LeastLoaded strategy.
type leastLoaded struct{}

// newLeastLoaded returns the LeastLoaded Scorer.
func newLeastLoaded() Scorer { return leastLoaded{} }

// Name returns LeastLoaded.
func (leastLoaded) Name() string { return LeastLoaded }

// Score prefers the emptiest worker, so that load spreads and one slow or
// failing allocation holds as few jobs as possible.
func (leastLoaded) Score(_ Snapshot, w Worker, _ Job) float64 { return -utilization(w) }
