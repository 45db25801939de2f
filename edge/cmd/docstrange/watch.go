package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/edge/client"
)

func (a *app) watchCmd(fs *flag.FlagSet) func(context.Context, *client.Client, []string) error {
	return func(ctx context.Context, c *client.Client, ids []string) error {
		if len(ids) != 1 {
			return usagef("watch: name one job ID")
		}
		var p jobProgress = &lines{w: a.stderr, label: ids[0]}
		if a.isTerminal(a.stderr) {
			p = newBar(a.stderr, ids[0])
		}
		j, err := a.followWith(ctx, c, ids[0], p)
		if err != nil {
			return err
		}
		summary := fmt.Sprintf("%s %s", j.JobID, j.Status)
		if j.Progress.PagesTotal > 0 {
			summary += fmt.Sprintf(" (%d/%d pages)", j.Progress.PagesDone, j.Progress.PagesTotal)
		}
		fmt.Fprintln(a.stdout, summary)
		return jobOutcome(j)
	}
}

// follow waits for a job to end: with a progress bar when standard error
// is a terminal, quietly otherwise.
func (a *app) follow(ctx context.Context, c *client.Client, id, label string) (*api.Job, error) {
	if !a.isTerminal(a.stderr) {
		return c.Wait(ctx, id)
	}
	return a.followWith(ctx, c, id, newBar(a.stderr, label))
}

// followWith follows the job's events into p until the job ends. Should
// the stream give up, the job is long-polled to its end instead.
func (a *app) followWith(ctx context.Context, c *client.Client, id string, p jobProgress) (*api.Job, error) {
	defer p.done()
	s, err := c.Events(ctx, id)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var last *api.Job
	for s.Next() {
		if j := s.Event().Job; j != nil {
			last = j
			p.job(j)
		}
	}
	if err := s.Err(); err != nil && ctx.Err() != nil {
		return nil, err
	}
	if last != nil && client.Terminal(last.Status) {
		return last, nil
	}
	j, err := c.Wait(ctx, id)
	if err != nil {
		return nil, err
	}
	p.job(j)
	return j, nil
}
