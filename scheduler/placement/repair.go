package placement

// decision is one job's outcome in the round, in the order it was
// considered.
type decision struct {
	job    *Job
	plan   *plan
	worker int // index into round.ws, or -1 while the job waits
}

// repair places waiting jobs by moving one placed job each out of their way.
//
// The greedy pass can strand capacity: an auto job takes a CPU slot (CPUs
// are preferred) that a cpu job considered after it needed, while a GPU
// stays idle; or a job that needs no particular backend fills the only
// worker with the backend a later job requires. For each waiting job J, in
// the order considered, repair looks for a worker w that J may use holding
// a job A of another class that has a free worker v in the same region
// group (home or away) as w; A moves to its best such v and J takes A's
// slot on w. Nobody loses a slot, and the slot A moves into was one that no
// job in the round could use, so this only adds placements. It is one move
// per job, not a full matching, which keeps it cheap and explainable.
//
// The rules still hold afterwards: A leaves w only for a worker it may use
// in the same region group, and when A is an auto job moving from CPU to
// GPU, the CPU it left is full again, so no CPU with room is passed over.
// Of the jobs of a class on w the one considered last moves, so the least
// preferred job is the one that gets the less preferred device.
func (r *round) repair(ds []decision) {
	if r.spare == 0 {
		return
	}
	on := make([][]int, len(r.ws)) // worker → indexes into ds placed on it
	for k, d := range ds {
		if d.worker >= 0 {
			on[d.worker] = append(on[d.worker], k)
		}
	}
	for k := range ds {
		if r.spare == 0 {
			return
		}
		j := &ds[k]
		if j.worker >= 0 || j.plan.stuck {
			continue
		}
		if !r.repairOne(ds, on, k) {
			// Free slots only shrink, so no later job of this class can
			// find a move either.
			j.plan.stuck = true
		}
	}
}

// repairOne tries to place the waiting ds[k] by moving one job out of its
// way, and reports whether it did.
func (r *round) repairOne(ds []decision, on [][]int, k int) bool {
	j := &ds[k]
	var tried []*plan // classes on the current w that have nowhere to go
	for _, tier := range j.plan.tiers {
		for _, w := range tier {
			tried = tried[:0]
			for x := len(on[w]) - 1; x >= 0; x-- {
				a := &ds[on[w][x]]
				if a.plan == j.plan || contains(tried, a.plan) {
					continue
				}
				v := r.best(a.job, a.plan.group(w))
				if v < 0 {
					tried = append(tried, a.plan)
					continue
				}
				r.take(v)
				a.worker, j.worker = v, w
				on[v] = append(on[v], on[w][x])
				on[w][x] = k
				return true
			}
		}
	}
	return false
}

// group returns the tiers in the same region group (home or away) as the
// tier holding worker w.
func (p *plan) group(w int) [][]int {
	for t, tier := range p.tiers {
		if contains(tier, w) {
			if t < p.homeTiers {
				return p.tiers[:p.homeTiers]
			}
			return p.tiers[p.homeTiers:]
		}
	}
	return nil
}

func contains[T comparable](xs []T, x T) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
