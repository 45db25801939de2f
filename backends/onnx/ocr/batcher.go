package ocr

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// batcher merges items submitted by concurrent callers into batches of at
// most maxBatch, waiting at most maxWait after a batch's first item for
// more, and runs up to workers batches at once. A batch runs under a
// context that is cancelled only when every caller with an item in it has
// gone away.
type batcher[T, R any] struct {
	run      func(ctx context.Context, items []T) ([]R, error)
	maxBatch int
	maxWait  time.Duration

	queue   chan *batchJob[T, R]
	slots   chan struct{}
	stop    context.CancelFunc
	done    chan struct{}
	running sync.WaitGroup
}

type batchJob[T, R any] struct {
	ctx  context.Context
	item T
	res  chan batchResult[R]
}

type batchResult[R any] struct {
	val R
	err error
}

// newBatcher starts the batching loop. It lives until close, so it keeps
// ctx's values but not its cancellation.
func newBatcher[T, R any](ctx context.Context, maxBatch int, maxWait time.Duration, workers int, run func(context.Context, []T) ([]R, error)) *batcher[T, R] {
	ctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	b := &batcher[T, R]{
		run: run, maxBatch: maxBatch, maxWait: maxWait,
		queue: make(chan *batchJob[T, R]),
		slots: make(chan struct{}, workers),
		stop:  stop,
		done:  make(chan struct{}),
	}
	go b.loop(ctx)
	return b
}

// submit queues items and waits for their results, in order. Cancelling ctx
// returns at once with ctx's error; items not yet run are then skipped.
func (b *batcher[T, R]) submit(ctx context.Context, items []T) ([]R, error) {
	jobs := make([]*batchJob[T, R], len(items))
	for i, it := range items {
		jobs[i] = &batchJob[T, R]{ctx: ctx, item: it, res: make(chan batchResult[R], 1)}
		select {
		case b.queue <- jobs[i]:
		case <-ctx.Done():
			return nil, fmt.Errorf("queueing batch item: %w", ctx.Err())
		case <-b.done:
			return nil, ErrClosed
		}
	}
	out := make([]R, len(items))
	for i, j := range jobs {
		select {
		case r := <-j.res:
			if r.err != nil {
				return nil, r.err
			}
			out[i] = r.val
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for batch: %w", ctx.Err())
		}
	}
	return out, nil
}

func (b *batcher[T, R]) loop(ctx context.Context) {
	defer close(b.done)
	for {
		// Take a worker slot first: while every worker is busy, callers
		// pile up in the queue and the next batch fills at once.
		select {
		case b.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		batch := b.collect(ctx)
		if batch == nil {
			return
		}
		b.running.Add(1)
		go func() {
			defer b.running.Done()
			defer func() { <-b.slots }()
			b.runBatch(ctx, batch)
		}()
	}
}

// collect gathers one batch of live jobs, or returns nil when ctx ends.
func (b *batcher[T, R]) collect(ctx context.Context) []*batchJob[T, R] {
	var batch []*batchJob[T, R]
	var timeout <-chan time.Time
	for len(batch) < b.maxBatch {
		select {
		case j := <-b.queue:
			if j.ctx.Err() != nil {
				continue
			}
			batch = append(batch, j)
			if timeout == nil {
				t := time.NewTimer(b.maxWait)
				defer t.Stop()
				timeout = t.C
			}
		case <-timeout:
			return batch
		case <-ctx.Done():
			for _, j := range batch {
				j.res <- batchResult[R]{err: ErrClosed}
			}
			return nil
		}
	}
	return batch
}

func (b *batcher[T, R]) runBatch(parent context.Context, batch []*batchJob[T, R]) {
	live := batch[:0]
	for _, j := range batch {
		if j.ctx.Err() == nil {
			live = append(live, j)
		}
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var mu sync.Mutex
	left := len(live)
	for _, j := range live {
		stop := context.AfterFunc(j.ctx, func() {
			mu.Lock()
			defer mu.Unlock()
			if left--; left == 0 {
				cancel()
			}
		})
		defer stop()
	}
	items := make([]T, len(live))
	for i, j := range live {
		items[i] = j.item
	}
	out, err := b.run(ctx, items)
	for i, j := range live {
		if err != nil {
			j.res <- batchResult[R]{err: err}
		} else {
			j.res <- batchResult[R]{val: out[i]}
		}
	}
}

// close stops taking batches and waits for the running ones to finish.
func (b *batcher[T, R]) close() {
	b.stop()
	<-b.done
	b.running.Wait()
}
