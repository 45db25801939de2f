package placement

// fairPlacer is the Placer: priority bands, max-min fair shares between
// tenants within a band, FIFO within a tenant, and a Scorer among workers.
type fairPlacer struct {
	scorer Scorer
}

// NewPlacer returns the Placer, choosing among acceptable workers with s
// (nil means LeastLoaded).
//
// Jobs are considered highest Priority first. Within a priority, the next
// job comes from the tenant with the fewest slots: those it has in flight
// (Snapshot.InFlight) plus those it was given earlier in the round, with
// ties to the tenant whose next job is oldest. This is max-min fairness over
// slots, the single-resource case of the Hadoop fair scheduler and of DRF:
// a tenant with a thousand queued jobs gets one slot and then yields to every
// tenant holding fewer, so another tenant's single job goes within a slot or
// two instead of behind the flood, and across rounds a tenant that already
// holds many slots waits behind those that hold few. A job that cannot be
// placed does not count toward its tenant's share, so a tenant whose GPU jobs
// wait for a GPU keeps its turn for its CPU jobs.
//
// Placement is greedy in that order: each job takes the best worker it may
// use with a free slot, or waits. Because free slots only shrink in a round,
// a waiting job had no room anywhere it may run when its turn came, so no
// lower-priority job took a slot it could have had. A repair pass then moves
// flexible jobs out of the way of waiting ones where a slot would otherwise
// stay idle (see round.repair).
func NewPlacer(s Scorer) Placer {
	if s == nil {
		s = newLeastLoaded()
	}
	return &fairPlacer{scorer: s}
}

// Place implements Placer.
func (p *fairPlacer) Place(snap Snapshot, pending []Job) ([]Assignment, []Wait) {
	r := newRound(snap, p.scorer)
	ds := make([]decision, 0, len(pending))
	placed := make(map[string]int)
	for _, band := range bands(pending) {
		h := flowHeap(band)
		for _, f := range h {
			f.share = snap.InFlight[f.tenant] + placed[f.tenant]
		}
		h.init()
		for len(h) > 0 {
			f := h[0]
			j := f.head()
			d := decision{job: j, plan: r.plan(j), worker: -1}
			if d.worker = r.place(j, d.plan); d.worker >= 0 {
				f.share++
				placed[f.tenant]++
			}
			ds = append(ds, d)
			f.next++
			if f.next == len(f.jobs) {
				h[0] = h[len(h)-1]
				h = h[:len(h)-1]
			}
			h.down(0)
		}
	}
	r.repair(ds)
	n := 0
	for _, d := range ds {
		if d.worker >= 0 {
			n++
		}
	}
	assigned := make([]Assignment, 0, n)
	var waiting []Wait
	if n < len(ds) {
		waiting = make([]Wait, 0, len(ds)-n)
	}
	for _, d := range ds {
		if d.worker >= 0 {
			assigned = append(assigned, Assignment{JobID: d.job.ID, WorkerID: r.ws[d.worker].ID})
		} else {
			waiting = append(waiting, Wait{JobID: d.job.ID, Reason: r.waitReason(d.job, d.plan)})
		}
	}
	return assigned, waiting
}
