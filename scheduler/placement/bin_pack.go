package placement

// binPack is the BinPack strategy.
type binPack struct{}

// newBinPack returns the BinPack Scorer.
func newBinPack() Scorer { return binPack{} }

// Name returns BinPack.
func (binPack) Name() string { return BinPack }

// Score prefers the fullest worker that still has room (the Placer offers
// only those), so that jobs collect on few allocations and the idle ones can
// be scaled down. Among idle workers the tie goes to the lowest ID, which
// keeps filling the same one rather than waking several.
func (binPack) Score(_ Snapshot, w Worker, _ Job) float64 { return utilization(w) }
