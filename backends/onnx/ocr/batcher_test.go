package ocr

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestBatcherMergesConcurrentCalls(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	b := newBatcher(t.Context(), 8, 500*time.Millisecond, 1, func(_ context.Context, items []int) ([]int, error) {
		mu.Lock()
		sizes = append(sizes, len(items))
		mu.Unlock()
		out := make([]int, len(items))
		for i, v := range items {
			out[i] = 10 * v
		}
		return out, nil
	})
	t.Cleanup(b.close)
	var wg sync.WaitGroup
	results := make([][]int, 2)
	for c := range 2 {
		wg.Go(func() {
			out, err := b.submit(t.Context(), []int{c + 1, c + 3})
			if err != nil {
				t.Errorf("submit: %v", err)
			}
			results[c] = out
		})
	}
	wg.Wait()
	// Four items reach the batcher well within the wait, so they share one
	// batch, run when the wait ends.
	if len(sizes) != 1 || sizes[0] != 4 {
		t.Fatalf("batch sizes %v, want one batch of 4", sizes)
	}
	if results[0][0] != 10 || results[0][1] != 30 || results[1][0] != 20 || results[1][1] != 40 {
		t.Fatalf("results %v not matched to their callers", results)
	}
}

func TestBatcherFullBatchRunsWithoutWaiting(t *testing.T) {
	b := newBatcher(t.Context(), 2, time.Hour, 1, func(_ context.Context, items []int) ([]int, error) {
		return items, nil
	})
	t.Cleanup(b.close)
	start := time.Now()
	if _, err := b.submit(t.Context(), []int{1, 2}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("full batch took %v", d)
	}
}

func TestBatcherCancellation(t *testing.T) {
	started := make(chan struct{})
	aborted := make(chan struct{})
	b := newBatcher(t.Context(), 4, time.Millisecond, 1, func(ctx context.Context, items []int) ([]int, error) {
		close(started)
		<-ctx.Done() // a run that only ends when its callers are gone
		close(aborted)
		return nil, ctx.Err()
	})
	t.Cleanup(b.close)

	running, cancelRunning := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { _, err := b.submit(running, []int{1}); errc <- err }()
	<-started

	// With the only worker busy, a second call waits in the queue; its
	// cancellation must return at once.
	queued, cancelQueued := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancelQueued()
	start := time.Now()
	if _, err := b.submit(queued, []int{2}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("queued submit: %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("queued cancellation took %v", d)
	}

	// Cancelling the running call returns it and cancels the batch it alone
	// was waiting for.
	start = time.Now()
	cancelRunning()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("running submit: %v, want canceled", err)
	}
	select {
	case <-aborted:
	case <-time.After(time.Second):
		t.Fatal("batch context not cancelled after its only caller left")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("running cancellation took %v", d)
	}
}

func TestBatcherClosed(t *testing.T) {
	b := newBatcher(t.Context(), 4, time.Millisecond, 1, func(_ context.Context, items []int) ([]int, error) { return items, nil })
	b.close()
	if _, err := b.submit(t.Context(), []int{1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after close: %v, want ErrClosed", err)
	}
}
