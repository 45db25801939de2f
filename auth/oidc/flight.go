package oidc

import (
	"context"
	"sync"
)

// flight runs one fetch at a time: callers that arrive while it runs wait
// for its result instead of starting their own, so a burst of tokens
// signed with a new key costs the identity provider one request.
type flight[T any] struct {
	mu   sync.Mutex
	call *flightCall[T]
}

type flightCall[T any] struct {
	done chan struct{}
	val  T
	err  error
}

// do runs fn, or joins the run in progress. The run outlives a caller that
// gives up: it is detached from the caller's cancellation (its time is
// bounded by the HTTP client's timeout) so that one impatient client cannot
// fail the fetch for everyone waiting on it.
func (f *flight[T]) do(ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	f.mu.Lock()
	c := f.call
	if c == nil {
		c = &flightCall[T]{done: make(chan struct{})}
		f.call = c
		go func() {
			c.val, c.err = fn(context.WithoutCancel(ctx))
			f.mu.Lock()
			f.call = nil
			f.mu.Unlock()
			close(c.done)
		}()
	}
	f.mu.Unlock()
	select {
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	case <-c.done:
		return c.val, c.err
	}
}
