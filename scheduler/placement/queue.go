package placement

import (
	"cmp"
	"slices"
	"strings"
)

// flow is one tenant's pending jobs at one priority, FIFO.
type flow struct {
	tenant string
	jobs   []*Job
	next   int
	// share is the tenant's slots: in flight before the round plus placed
	// in it. The flow with the smallest share goes next.
	share int
}

// head is the flow's next job.
func (f *flow) head() *Job { return f.jobs[f.next] }

// before orders flows within a priority band: smallest share first, then
// oldest next job, then job ID and tenant so that the order is total and a
// round replays exactly.
func (f *flow) before(g *flow) bool {
	if f.share != g.share {
		return f.share < g.share
	}
	a, b := f.head(), g.head()
	if c := a.EnqueuedAt.Compare(b.EnqueuedAt); c != 0 {
		return c < 0
	}
	if a.ID != b.ID {
		return a.ID < b.ID
	}
	return f.tenant < g.tenant
}

// bands groups pending into flows, one band per priority, highest first.
// A repeated job ID keeps its first occurrence. Jobs are handled by pointer
// because sorting a thousand Job values moves ten times the bytes.
func bands(pending []Job) [][]*flow {
	seen := make(map[string]struct{}, len(pending))
	jobs := make([]*Job, 0, len(pending))
	for i := range pending {
		if _, dup := seen[pending[i].ID]; dup {
			continue
		}
		seen[pending[i].ID] = struct{}{}
		jobs = append(jobs, &pending[i])
	}
	slices.SortFunc(jobs, func(a, b *Job) int {
		// Compared field by field, not with cmp.Or, which would compare
		// every string even when the priorities already differ.
		if a.Priority != b.Priority {
			return cmp.Compare(b.Priority, a.Priority)
		}
		if a.Tenant != b.Tenant {
			return strings.Compare(a.Tenant, b.Tenant)
		}
		if c := a.EnqueuedAt.Compare(b.EnqueuedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	var out [][]*flow
	for i := 0; i < len(jobs); {
		j := i
		for j < len(jobs) && jobs[j].Priority == jobs[i].Priority && jobs[j].Tenant == jobs[i].Tenant {
			j++
		}
		f := &flow{tenant: jobs[i].Tenant, jobs: jobs[i:j]}
		if len(out) == 0 || out[len(out)-1][0].head().Priority != jobs[i].Priority {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], f)
		i = j
	}
	return out
}

// flowHeap is a min-heap of one band's flows by flow.before. It is written
// out rather than built on container/heap to keep interface calls out of
// the per-job path.
type flowHeap []*flow

// init establishes the heap order.
func (h flowHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// down restores the heap order below i after h[i] moved later.
func (h flowHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r].before(h[l]) {
			m = r
		}
		if !h[m].before(h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
