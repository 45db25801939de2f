package nomad

import (
	"context"
	"errors"
	"fmt"
	"time"

	nomadapi "github.com/hashicorp/nomad/api"
)

// Step evaluates every group once: it reads the demand and the registered
// job, decides, and asks Nomad for the counts that should change. A group
// Nomad refuses does not keep the others from scaling; the errors come back
// joined.
func (a *Autoscaler) Step(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	demand, err := a.src.Demand(ctx)
	if err != nil {
		return fmt.Errorf("reading the demand: %w", err)
	}
	job, _, err := a.jobs.Info(a.cfg.Job, a.query(ctx))
	if err != nil {
		return fmt.Errorf("reading job %q: %w", a.cfg.Job, err)
	}
	now := time.Now()
	if job.Stop != nil && *job.Stop {
		// Whoever stopped it meant it; scaling would start it again.
		a.skipJob(ctx, "the job is stopped")
		return nil
	}
	a.skipJob(ctx, "")
	tm := timings{coolDown: a.cfg.CoolDown, scaleDownAfter: a.cfg.ScaleDownAfter, maxGap: 3 * a.cfg.Every}
	var errs []error
	// Nomad refuses to scale a job while one of its deployments runs
	// (400 "job scaling blocked due to active deployment"), so the
	// autoscaler asks first, once a step, and waits the deployment out
	// rather than log a failure every step until it ends.
	checked, deploying := false, false
	for _, g := range a.cfg.Groups {
		st := a.groups[g.Group]
		tg, b, why := scalable(job, g.Group)
		a.skipGroup(ctx, g, st, why)
		if why != "" {
			continue
		}
		dem := demand[g.Device]
		dec, next := decide(now, *tg.Count, b, dem, g.Slots, *st, tm)
		*st = next
		a.desired[g.Group].Set(float64(dec.desired))
		if dec.to == dec.from {
			if dec.hold != "" {
				a.log.DebugContext(ctx, "holding the count", logKeyGroup, g.Group, logKeyFrom, dec.from, logKeyDesired, dec.desired, logKeyReason, dec.hold)
			}
			continue
		}
		if !checked {
			checked = true
			id, err := a.activeDeployment(ctx, job)
			if err != nil {
				errs = append(errs, err)
				break
			}
			if id != "" {
				deploying = true
				if id != a.waited {
					a.waited = id
					a.log.InfoContext(ctx, "waiting for the job's deployment before scaling", logKeyDeploy, id)
				}
			}
		}
		if deploying {
			continue
		}
		if err := a.scale(ctx, g, dec, dem, b); err != nil {
			a.failed[g.Group].Inc()
			errs = append(errs, err)
			continue
		}
		st.scaled(now)
		// The change starts a deployment when the group rolls; the next
		// group waits for the next step, which sees it.
		deploying = rolls(tg)
	}
	return errors.Join(errs...)
}

// scale asks Nomad for dec's count, with the reason as the scale event's
// message and the numbers behind it as its meta.
func (a *Autoscaler) scale(ctx context.Context, g ScaleGroup, dec decision, dem Demand, b bounds) error {
	msg := dec.message(g.Group, dem, g.Slots, b)
	meta := map[string]any{
		"source": "docstrange-scheduler", "device": g.Device,
		"waiting": dem.Waiting, "in_use": dem.InUse, "healthy_workers": dem.Workers, "slots": g.Slots,
		"needed": dec.need, "desired": dec.desired, "from": dec.from, "to": dec.to,
	}
	count := dec.to
	if _, _, err := a.jobs.Scale(a.cfg.Job, g.Group, &count, msg, false, meta, (&nomadapi.WriteOptions{Namespace: a.cfg.Namespace}).WithContext(ctx)); err != nil {
		return fmt.Errorf("scaling group %q from %d to %d: %w", g.Group, dec.from, dec.to, err)
	}
	dir := dec.direction()
	if dir == "up" {
		a.up[g.Group].Inc()
	} else {
		a.down[g.Group].Inc()
	}
	a.log.InfoContext(ctx, "scaled workers", logKeyGroup, g.Group, logKeyDevice, g.Device, logKeyDirection, dir,
		logKeyFrom, dec.from, logKeyTo, dec.to, logKeyWaiting, dem.Waiting, logKeyInUse, dem.InUse, logKeyReason, msg)
	return nil
}

func (a *Autoscaler) query(ctx context.Context) *nomadapi.QueryOptions {
	return (&nomadapi.QueryOptions{Namespace: a.cfg.Namespace}).WithContext(ctx)
}

// activeDeployment returns the id of the job's running deployment, "" when
// none runs, by the test Nomad's Job.Scale applies: the latest deployment
// is active (not successful, failed or cancelled) and belongs to this
// incarnation of the job.
func (a *Autoscaler) activeDeployment(ctx context.Context, job *nomadapi.Job) (string, error) {
	d, _, err := a.jobs.LatestDeployment(a.cfg.Job, a.query(ctx))
	if err != nil {
		return "", fmt.Errorf("reading the deployment of job %q: %w", a.cfg.Job, err)
	}
	if d == nil {
		return "", nil
	}
	switch d.Status {
	case nomadapi.DeploymentStatusSuccessful, nomadapi.DeploymentStatusFailed, nomadapi.DeploymentStatusCancelled:
		return "", nil
	}
	// A deployment of an earlier job by the same name (stopped, purged,
	// registered again) does not hold this one up.
	if job.CreateIndex != nil && d.JobCreateIndex != *job.CreateIndex {
		return "", nil
	}
	return d.ID, nil
}

// rolls reports whether a change to tg starts a deployment: its update
// block has a max_parallel above 0.
func rolls(tg *nomadapi.TaskGroup) bool {
	return tg.Update != nil && tg.Update.MaxParallel != nil && *tg.Update.MaxParallel > 0
}

// scalable finds the group in the registered job and its bounds, or says
// why the autoscaler must leave it alone: only a group whose scaling block
// allows it is the autoscaler's to move.
func scalable(job *nomadapi.Job, name string) (*nomadapi.TaskGroup, bounds, string) {
	for _, tg := range job.TaskGroups {
		if tg == nil || tg.Name == nil || *tg.Name != name {
			continue
		}
		s := tg.Scaling
		switch {
		case s == nil:
			return nil, bounds{}, "the group has no scaling block"
		case s.Enabled != nil && !*s.Enabled:
			return nil, bounds{}, "the group's scaling block is disabled"
		case s.Min == nil || s.Max == nil:
			return nil, bounds{}, "the group's scaling block lacks min or max"
		case *s.Min < 0 || *s.Max < *s.Min:
			return nil, bounds{}, fmt.Sprintf("the group's scaling bounds %d..%d are unusable", *s.Min, *s.Max)
		case tg.Count == nil:
			return nil, bounds{}, "Nomad reported no count for the group"
		}
		return tg, bounds{min: int(*s.Min), max: int(*s.Max)}, ""
	}
	return nil, bounds{}, "the job has no such group"
}

// skipJob logs when the whole job starts or stops being left alone.
func (a *Autoscaler) skipJob(ctx context.Context, why string) {
	if why == a.jobSkip {
		return
	}
	if why != "" {
		a.log.InfoContext(ctx, "not scaling the job", logKeyReason, why)
	} else {
		a.log.InfoContext(ctx, "scaling the job again")
	}
	a.jobSkip = why
}

// skipGroup logs when a group starts or stops being left alone, once per
// change rather than every step.
func (a *Autoscaler) skipGroup(ctx context.Context, g ScaleGroup, st *groupState, why string) {
	if why == st.skip {
		return
	}
	if why != "" {
		a.log.InfoContext(ctx, "not scaling the group", logKeyGroup, g.Group, logKeyReason, why)
	} else if st.skip != "" {
		a.log.InfoContext(ctx, "scaling the group again", logKeyGroup, g.Group)
	}
	st.skip = why
}
