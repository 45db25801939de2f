package index_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/docstrange/mesh/uploads/index"
)

// harness opens indexes of one implementation for the conformance suite.
type harness struct {
	// open returns a fresh, empty index, closed at cleanup, and a function
	// that returns another handle on the same data: for Bolt the same file
	// after closing the first handle, for Redis a second client on the same
	// keys while the first stays open.
	open func(t *testing.T) (idx index.Index, reopen func(t *testing.T) index.Index)
}

// base is a fixed instant with sub-millisecond digits, which the index drops.
var base = time.Date(2030, 1, 2, 3, 4, 5, 678_901_234, time.UTC)

// at is base plus d.
func at(d time.Duration) time.Time { return base.Add(d) }

// stored is e as the index returns it: Expires truncated to the millisecond,
// in UTC.
func stored(e index.Entry) index.Entry {
	e.Expires = time.UnixMilli(e.Expires.UnixMilli()).UTC()
	return e
}

// runConformance is the contract every Index implementation must meet.
func runConformance(t *testing.T, h harness) {
	t.Run("AddGet", func(t *testing.T) { testAddGet(t, h) })
	t.Run("GetMissing", func(t *testing.T) { testGetMissing(t, h) })
	t.Run("DueOrderAndLimit", func(t *testing.T) { testDueOrderAndLimit(t, h) })
	t.Run("DueBoundary", func(t *testing.T) { testDueBoundary(t, h) })
	t.Run("ReplaceMovesExpiry", func(t *testing.T) { testReplace(t, h) })
	t.Run("RemoveIdempotent", func(t *testing.T) { testRemove(t, h) })
	t.Run("Reopen", func(t *testing.T) { testReopen(t, h) })
	t.Run("ConcurrentAdds", func(t *testing.T) { testConcurrentAdds(t, h) })
	t.Run("ConcurrentReplaces", func(t *testing.T) { testConcurrentReplaces(t, h) })
	t.Run("InvalidInput", func(t *testing.T) { testInvalid(t, h) })
	t.Run("Closed", func(t *testing.T) { testClosed(t, h) })
	t.Run("CanceledContext", func(t *testing.T) { testCanceled(t, h) })
}

func testAddGet(t *testing.T, h harness) {
	idx, _ := h.open(t)
	tests := []struct {
		name string
		e    index.Entry
	}{
		{"plain", index.Entry{ID: "a1b2c3", Owner: "tenant-1", Expires: at(time.Hour)}},
		{"no owner", index.Entry{ID: "no-owner", Expires: at(0)}},
		{"s3store id", index.Entry{ID: "0f1e2d+mp.Id-42/x:y", Owner: "t:2", Expires: at(-time.Hour)}},
		{"unicode owner", index.Entry{ID: "u", Owner: "Menü 株式会社", Expires: at(time.Millisecond)}},
		{"before 1970", index.Entry{ID: "old", Owner: "o", Expires: time.Date(1969, 7, 20, 20, 17, 0, 500, time.UTC)}},
		{"other zone", index.Entry{ID: "zone", Owner: "o", Expires: at(time.Minute).In(time.FixedZone("X", 5*3600))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			if err := idx.Add(ctx, tt.e); err != nil {
				t.Fatalf("Add: %v", err)
			}
			got, err := idx.Get(ctx, tt.e.ID)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if want := stored(tt.e); got != want {
				t.Errorf("Get = %+v, want %+v", got, want)
			}
		})
	}
}

func testGetMissing(t *testing.T, h harness) {
	idx, _ := h.open(t)
	if _, err := idx.Get(t.Context(), "nope"); !errors.Is(err, index.ErrNotFound) {
		t.Fatalf("Get(missing) error = %v, want ErrNotFound", err)
	}
}

func testDueOrderAndLimit(t *testing.T, h harness) {
	idx, _ := h.open(t)
	// Added out of order; c and b share a millisecond, so ID breaks the tie.
	entries := []index.Entry{
		{ID: "d", Owner: "o4", Expires: at(3 * time.Second)},
		{ID: "future", Owner: "o9", Expires: at(time.Hour)},
		{ID: "c", Owner: "o3", Expires: at(2 * time.Second)},
		{ID: "a", Owner: "o1", Expires: at(-time.Minute)},
		{ID: "b", Owner: "o2", Expires: at(2 * time.Second)},
	}
	for _, e := range entries {
		if err := idx.Add(t.Context(), e); err != nil {
			t.Fatalf("Add(%s): %v", e.ID, err)
		}
	}
	tests := []struct {
		name  string
		now   time.Time
		limit int
		want  []string
	}{
		{"all due", at(time.Minute), 10, []string{"a", "b", "c", "d"}},
		{"limit 1", at(time.Minute), 1, []string{"a"}},
		{"limit 3", at(time.Minute), 3, []string{"a", "b", "c"}},
		{"limit equals due", at(time.Minute), 4, []string{"a", "b", "c", "d"}},
		{"some due", at(2 * time.Second), 10, []string{"a", "b", "c"}},
		{"none due", at(-time.Hour), 10, nil},
		{"everything", at(24 * time.Hour), 100, []string{"a", "b", "c", "d", "future"}},
	}
	byID := make(map[string]index.Entry)
	for _, e := range entries {
		byID[e.ID] = stored(e)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := idx.Due(t.Context(), tt.now, tt.limit)
			if err != nil {
				t.Fatalf("Due: %v", err)
			}
			var ids []string
			for _, e := range got {
				ids = append(ids, e.ID)
				if e != byID[e.ID] {
					t.Errorf("Due entry = %+v, want %+v", e, byID[e.ID])
				}
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("Due ids = %v, want %v", ids, tt.want)
			}
		})
	}
}

func testDueBoundary(t *testing.T, h harness) {
	idx, _ := h.open(t)
	e := index.Entry{ID: "edge", Owner: "o", Expires: base}
	if err := idx.Add(t.Context(), e); err != nil {
		t.Fatalf("Add: %v", err)
	}
	ms := base.Truncate(time.Millisecond)
	tests := []struct {
		name string
		now  time.Time
		due  bool
	}{
		{"exactly expires", base, true},
		{"same millisecond, earlier", ms, true},
		{"one nanosecond before the millisecond", ms.Add(-time.Nanosecond), false},
		{"a millisecond later", base.Add(time.Millisecond), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := idx.Due(t.Context(), tt.now, 10)
			if err != nil {
				t.Fatalf("Due: %v", err)
			}
			if (len(got) == 1) != tt.due {
				t.Errorf("Due(%s) = %v, want due=%v", tt.now, got, tt.due)
			}
		})
	}
}

func testReplace(t *testing.T, h harness) {
	ctx := t.Context()
	idx, _ := h.open(t)
	mustAdd(t, idx, index.Entry{ID: "x", Owner: "first", Expires: at(-time.Hour)})
	mustAdd(t, idx, index.Entry{ID: "y", Owner: "y", Expires: at(-time.Minute)})
	wantDue(t, idx, base, "x", "y")

	later := index.Entry{ID: "x", Owner: "second", Expires: at(time.Hour)}
	mustAdd(t, idx, later)
	wantDue(t, idx, base, "y")
	wantDue(t, idx, at(2*time.Hour), "y", "x")
	if got, err := idx.Get(ctx, "x"); err != nil || got != stored(later) {
		t.Fatalf("Get after replace = %+v, %v; want %+v", got, err, stored(later))
	}

	earlier := index.Entry{ID: "x", Owner: "third", Expires: at(-2 * time.Hour)}
	mustAdd(t, idx, earlier)
	wantDue(t, idx, base, "x", "y")
	// Re-adding the same entry changes nothing.
	mustAdd(t, idx, earlier)
	wantDue(t, idx, at(2*time.Hour), "x", "y")
}

func testRemove(t *testing.T, h harness) {
	ctx := t.Context()
	idx, _ := h.open(t)
	mustAdd(t, idx, index.Entry{ID: "gone", Owner: "o", Expires: at(-time.Hour)})
	mustAdd(t, idx, index.Entry{ID: "kept", Owner: "o", Expires: at(-time.Minute)})
	for i := range 2 {
		if err := idx.Remove(ctx, "gone"); err != nil {
			t.Fatalf("Remove #%d: %v", i+1, err)
		}
	}
	if err := idx.Remove(ctx, "never-added"); err != nil {
		t.Fatalf("Remove(never added): %v", err)
	}
	if _, err := idx.Get(ctx, "gone"); !errors.Is(err, index.ErrNotFound) {
		t.Fatalf("Get(removed) error = %v, want ErrNotFound", err)
	}
	wantDue(t, idx, base, "kept")
	// A removed id can come back.
	mustAdd(t, idx, index.Entry{ID: "gone", Owner: "again", Expires: at(-time.Second)})
	wantDue(t, idx, base, "kept", "gone")
}

func testReopen(t *testing.T, h harness) {
	ctx := t.Context()
	idx, reopen := h.open(t)
	mustAdd(t, idx, index.Entry{ID: "r1", Owner: "o1", Expires: at(-time.Hour)})
	mustAdd(t, idx, index.Entry{ID: "r2", Owner: "o2", Expires: at(time.Hour)})
	mustAdd(t, idx, index.Entry{ID: "r3", Owner: "o3", Expires: at(-time.Minute)})
	if err := idx.Remove(ctx, "r3"); err != nil {
		t.Fatalf("Remove: %v", err)
	}

	other := reopen(t)
	if got, err := other.Get(ctx, "r2"); err != nil || got.Owner != "o2" {
		t.Fatalf("Get after reopen = %+v, %v", got, err)
	}
	wantDue(t, other, base, "r1")
	wantDue(t, other, at(2*time.Hour), "r1", "r2")
	if _, err := other.Get(ctx, "r3"); !errors.Is(err, index.ErrNotFound) {
		t.Fatalf("Get(removed) after reopen error = %v, want ErrNotFound", err)
	}
	mustAdd(t, other, index.Entry{ID: "r2", Owner: "o2", Expires: at(-2 * time.Hour)})
	wantDue(t, other, base, "r2", "r1")
}

func testConcurrentAdds(t *testing.T, h harness) {
	idx, _ := h.open(t)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			// Later ids expire earlier, so Due must reverse the order.
			e := index.Entry{ID: fmt.Sprintf("up-%02d", i), Owner: "o", Expires: at(-time.Duration(i) * time.Second)}
			if err := idx.Add(t.Context(), e); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Add: %v", err)
	}
	got, err := idx.Due(t.Context(), base, 2*n)
	if err != nil {
		t.Fatalf("Due: %v", err)
	}
	if len(got) != n {
		t.Fatalf("Due returned %d entries, want %d", len(got), n)
	}
	for i, e := range got {
		if want := fmt.Sprintf("up-%02d", n-1-i); e.ID != want {
			t.Errorf("Due[%d] = %s, want %s", i, e.ID, want)
		}
	}
}

// testConcurrentReplaces races Adds of one id: whichever wins, the expiry
// order and the entry must agree, and the id must be listed once.
func testConcurrentReplaces(t *testing.T, h harness) {
	idx, _ := h.open(t)
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			e := index.Entry{ID: "same", Owner: fmt.Sprintf("o%d", i), Expires: at(-time.Duration(i) * time.Second)}
			if err := idx.Add(t.Context(), e); err != nil {
				t.Errorf("Add: %v", err)
			}
		})
	}
	wg.Wait()
	got, err := idx.Due(t.Context(), base, 2*n)
	if err != nil {
		t.Fatalf("Due: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("Due returned %d entries, want 1: %v", len(got), got)
	}
	e, err := idx.Get(t.Context(), "same")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got[0] != e {
		t.Fatalf("Due = %+v but Get = %+v", got[0], e)
	}
	var i int
	if _, err := fmt.Sscanf(e.Owner, "o%d", &i); err != nil || !e.Expires.Equal(stored(index.Entry{Expires: at(-time.Duration(i) * time.Second)}).Expires) {
		t.Fatalf("entry %+v mixes the owner of one Add with the expiry of another", e)
	}
}

func testInvalid(t *testing.T, h harness) {
	idx, _ := h.open(t)
	ctx := t.Context()
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"add without id", func() error { return idx.Add(ctx, index.Entry{Owner: "o", Expires: base}) }, index.ErrInvalidEntry},
		{"add without expiry", func() error { return idx.Add(ctx, index.Entry{ID: "x", Owner: "o"}) }, index.ErrInvalidEntry},
		{"get empty id", func() error { _, err := idx.Get(ctx, ""); return err }, index.ErrInvalidEntry},
		{"remove empty id", func() error { return idx.Remove(ctx, "") }, index.ErrInvalidEntry},
		{"due limit 0", func() error { _, err := idx.Due(ctx, base, 0); return err }, index.ErrInvalidLimit},
		{"due limit -1", func() error { _, err := idx.Due(ctx, base, -1); return err }, index.ErrInvalidLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
		})
	}
	wantDue(t, idx, at(time.Hour))
}

func testClosed(t *testing.T, h harness) {
	idx, _ := h.open(t)
	ctx := t.Context()
	mustAdd(t, idx, index.Entry{ID: "x", Owner: "o", Expires: base})
	if err := idx.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := idx.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"add", func() error { return idx.Add(ctx, index.Entry{ID: "y", Expires: base}) }},
		{"get", func() error { _, err := idx.Get(ctx, "x"); return err }},
		{"due", func() error { _, err := idx.Due(ctx, base, 1); return err }},
		{"remove", func() error { return idx.Remove(ctx, "x") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, index.ErrClosed) {
				t.Errorf("error = %v, want ErrClosed", err)
			}
		})
	}
}

func testCanceled(t *testing.T, h harness) {
	idx, _ := h.open(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := idx.Add(ctx, index.Entry{ID: "x", Expires: base}); !errors.Is(err, context.Canceled) {
		t.Errorf("Add error = %v, want context.Canceled", err)
	}
	if _, err := idx.Due(ctx, base, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Due error = %v, want context.Canceled", err)
	}
	wantDue(t, idx, at(time.Hour))
}

// mustAdd is Add that fails the test on error.
func mustAdd(t *testing.T, idx index.Index, e index.Entry) {
	t.Helper()
	if err := idx.Add(t.Context(), e); err != nil {
		t.Fatalf("Add(%+v): %v", e, err)
	}
}

// wantDue checks the ids that Due returns at now, with a roomy limit.
func wantDue(t *testing.T, idx index.Index, now time.Time, want ...string) {
	t.Helper()
	got, err := idx.Due(t.Context(), now, 100)
	if err != nil {
		t.Fatalf("Due: %v", err)
	}
	ids := make([]string, 0, len(got))
	for _, e := range got {
		ids = append(ids, e.ID)
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("Due(%s) = %v, want %v", now.Format(time.RFC3339Nano), ids, want)
	}
}
