package placement

import (
	"fmt"
	"slices"
	"strings"

	"github.com/docstrange/mesh/scheduler"
)

// round is one Place call's working state: the workers with the slots the
// round has used so far, and a plan per job class.
type round struct {
	// snap is the caller's snapshot with Workers replaced by ws, so that
	// Scorers see the slots this round has already taken.
	snap   Snapshot
	scorer Scorer
	// ws are the workers sorted by ID, so that scanning in index order and
	// keeping the first best score breaks ties by lowest ID.
	ws   []Worker
	free []int
	// spare is the sum of free, so a saturated round skips repair.
	spare int
	plans map[class]*plan
}

// class is everything that decides where a job may run. Jobs of one class
// share a plan, which makes a round O(jobs × workers) at worst and O(jobs)
// once the class is full.
type class struct {
	device  string
	backend string
	home    string
}

// plan is the workers a class may use, in preference tiers.
type plan struct {
	// tiers are indexes into round.ws, most preferred first: home before
	// away, and for auto CPU before GPU within a region. A job takes the
	// best-scored worker with room in the first tier that has any.
	tiers [][]int
	// homeTiers is how many of tiers are in the home region.
	homeTiers int
	// full is set once no tier had room. Free slots only shrink within a
	// round, so it stays true and later jobs of the class skip the scan.
	full bool
	// home and away count the eligible workers in and out of the home
	// region, busy or not, to tell "none" from "busy" in the reason.
	home, away int
	// stuck is set once repair found no move for a job of this class;
	// like full, it stays true for the rest of the round.
	stuck bool
	// reason is why a job of this class waits, built on first need.
	reason string
}

// newRound copies what Place will change, so snap itself stays untouched.
func newRound(snap Snapshot, scorer Scorer) *round {
	ws := slices.Clone(snap.Workers)
	slices.SortStableFunc(ws, func(a, b Worker) int { return strings.Compare(a.ID, b.ID) })
	ws = slices.CompactFunc(ws, func(a, b Worker) bool { return a.ID == b.ID })
	free := make([]int, len(ws))
	for i := range ws {
		ws[i].InUse = max(ws[i].InUse, 0)
		free[i] = max(ws[i].Slots-ws[i].InUse, 0)
	}
	r := &round{snap: snap, scorer: scorer, ws: ws, free: free, spare: sum(free), plans: make(map[class]*plan)}
	r.snap.Workers = ws
	return r
}

// sum adds xs up.
func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// place takes a slot for j and returns the worker's index, or -1.
func (r *round) place(j *Job, p *plan) int {
	if p.full {
		return -1
	}
	if i := r.best(j, p.tiers); i >= 0 {
		r.take(i)
		return i
	}
	p.full = true
	return -1
}

// best returns the best-scored worker with room in the first of tiers that
// has any, or -1.
func (r *round) best(j *Job, tiers [][]int) int {
	for _, tier := range tiers {
		best, bestScore := -1, 0.0
		for _, i := range tier {
			if r.free[i] == 0 {
				continue
			}
			if s := r.scorer.Score(r.snap, r.ws[i], *j); best < 0 || s > bestScore {
				best, bestScore = i, s
			}
		}
		if best >= 0 {
			return best
		}
	}
	return -1
}

// take uses one free slot of worker i.
func (r *round) take(i int) {
	r.free[i]--
	r.ws[i].InUse++
	r.spare--
}

// waitReason says why j, of plan p, waits.
func (r *round) waitReason(j *Job, p *plan) string {
	if p.reason == "" {
		p.reason = r.reason(r.classOf(j), p)
	}
	return p.reason
}

// classOf normalizes the fields of j that decide where it may run.
func (r *round) classOf(j *Job) class {
	c := class{device: j.Device, backend: j.Backend, home: j.Region}
	if c.device == "" {
		c.device = scheduler.DeviceAuto
	}
	if c.home == "" {
		c.home = r.snap.Region
	}
	return c
}

// plan returns the class's plan, building it on first use.
func (r *round) plan(j *Job) *plan {
	c := r.classOf(j)
	if p, ok := r.plans[c]; ok {
		return p
	}
	p := &plan{}
	r.plans[c] = p
	devices := devicesFor(c.device)
	if devices == nil {
		p.full = true
		return p
	}
	var home, away [][]int
	for _, d := range devices {
		var h, a []int
		for i, w := range r.ws {
			if w.Device != d || (c.backend != "" && !slices.Contains(w.Backends, c.backend)) {
				continue
			}
			if r.isHome(w, c.home) {
				h = append(h, i)
			} else {
				a = append(a, i)
			}
		}
		p.home += len(h)
		p.away += len(a)
		home, away = append(home, h), append(away, a)
	}
	p.tiers, p.homeTiers = home, len(home)
	if r.snap.AllowSpill {
		p.tiers = append(p.tiers, away...)
	}
	return p
}

// devicesFor lists the worker devices a job device may use, preferred
// first; nil for a device placement does not know.
func devicesFor(device string) []string {
	switch device {
	case scheduler.DeviceGPU:
		return []string{scheduler.DeviceGPU}
	case scheduler.DeviceCPU:
		return []string{scheduler.DeviceCPU}
	case scheduler.DeviceAuto:
		// CPU first: GPUs are the scarce device, kept for jobs that need one.
		return []string{scheduler.DeviceCPU, scheduler.DeviceGPU}
	}
	return nil
}

// isHome reports whether w runs in region home. A job with no home at all
// (neither it nor the snapshot names a region) has no preference.
func (r *round) isHome(w Worker, home string) bool {
	if home == "" {
		return true
	}
	region := w.Region
	if region == "" {
		region = r.snap.Region
	}
	return region == home
}

// reason says why jobs of class c wait, telling apart "nothing could take
// it" from "everything that could is busy", since only the first needs an
// operator.
func (r *round) reason(c class, p *plan) string {
	if devicesFor(c.device) == nil {
		return fmt.Sprintf("unknown device %q (want %s, %s or %s)", c.device, scheduler.DeviceAuto, scheduler.DeviceGPU, scheduler.DeviceCPU)
	}
	kind := "" // auto: any worker would do
	switch c.device {
	case scheduler.DeviceGPU:
		kind = "GPU "
	case scheduler.DeviceCPU:
		kind = "CPU "
	}
	with := ""
	if c.backend != "" {
		with = fmt.Sprintf(" with backend %q", c.backend)
	}
	none := "no healthy " + kind + "worker" + with
	busy := "all " + kind + "workers" + with + " busy"
	const noSpill = " (spilling to other regions is not allowed)"
	switch {
	case p.home == 0 && p.away == 0:
		return none
	case p.away == 0:
		return busy
	case p.home == 0 && !r.snap.AllowSpill:
		return fmt.Sprintf("%s in region %q%s", none, c.home, noSpill)
	case p.home == 0:
		return fmt.Sprintf("%s in region %q and all in other regions busy", none, c.home)
	case !r.snap.AllowSpill:
		return fmt.Sprintf("%s in region %q%s", busy, c.home, noSpill)
	default:
		return fmt.Sprintf("%s in region %q and in other regions", busy, c.home)
	}
}
