package nomad

import (
	"fmt"
	"time"
)

// bounds is a group's scaling block as registered in Nomad.
type bounds struct{ min, max int }

// groupState is what the autoscaler remembers of one group between steps.
type groupState struct {
	// lastScale is when the autoscaler last moved the group; zero: never.
	lastScale time.Time
	// lowSince is when desired fell below the count, in the run of
	// evaluations that has seen it below ever since; zero when it is not.
	lowSince time.Time
	// lowPeak is the highest desired count seen since lowSince. A scale
	// down goes to it rather than to the latest sample, so a dip inside the
	// window is not mistaken for the level.
	lowPeak int
	// seen is when the group was last evaluated.
	seen time.Time
	// skip is why the group was last left alone for good (no scaling
	// block, …); kept so the reason is logged once, not every step.
	skip string
}

// scaled records a scale event at now: the cool-down starts, and the low
// window starts over against the new count.
func (s *groupState) scaled(now time.Time) {
	s.lastScale, s.lowSince, s.lowPeak = now, time.Time{}, 0
}

// timings are the durations a decision reads.
type timings struct {
	coolDown       time.Duration
	scaleDownAfter time.Duration
	// maxGap is the longest pause between two evaluations that still counts
	// as watching continuously: demand in a longer gap (errors, a leader
	// change) is unknown, so the low window starts over.
	maxGap time.Duration
}

// decision is the outcome of evaluating one group once.
type decision struct {
	// need is the demand in workers; desired is need within the bounds.
	need, desired int
	// from is the group's count; to is the count to set, from when holding.
	from, to int
	// lowFor is how long demand has been below the count when scaling down.
	lowFor time.Duration
	// hold says why the count stays although desired differs; "" otherwise.
	hold string
}

// direction is "up", "down" or "" for a decision that keeps the count.
func (d decision) direction() string {
	switch {
	case d.to > d.from:
		return "up"
	case d.to < d.from:
		return "down"
	}
	return ""
}

// needWorkers is the workers that serve demand: every waiting job and every
// busy slot needs a slot, and a worker brings slots of them.
func needWorkers(d Demand, slots int) int {
	jobs := max(d.Waiting, 0) + max(d.InUse, 0)
	return (jobs + slots - 1) / slots
}

// decide is the autoscaler's whole policy for one group at now, as a pure
// function of the group's count, its scaling bounds, the demand and what
// the previous evaluations left in st; it returns the next state. Up is
// prompt, because waiting jobs cost users; down waits for demand to stay
// low for scaleDownAfter, because a worker is slow to start again and a
// queue is bursty. Either waits out coolDown after the group's last scale
// event, so each change settles before the next. The caller calls
// st.scaled once Nomad took a change.
func decide(now time.Time, count int, b bounds, d Demand, slots int, st groupState, tm timings) (decision, groupState) {
	need := needWorkers(d, slots)
	dec := decision{need: need, desired: min(max(need, b.min), b.max), from: count, to: count}
	if !st.seen.IsZero() && now.Sub(st.seen) > tm.maxGap {
		st.lowSince, st.lowPeak = time.Time{}, 0
	}
	st.seen = now
	coolingUntil := st.lastScale.Add(tm.coolDown)
	cooling := !st.lastScale.IsZero() && now.Before(coolingUntil)
	switch {
	case dec.desired > count:
		st.lowSince, st.lowPeak = time.Time{}, 0
		if cooling {
			dec.hold = fmt.Sprintf("cooling down for %v more", coolingUntil.Sub(now))
			return dec, st
		}
		dec.to = dec.desired
	case dec.desired < count:
		if st.lowSince.IsZero() {
			st.lowSince, st.lowPeak = now, dec.desired
		}
		st.lowPeak = max(st.lowPeak, dec.desired)
		dec.lowFor = now.Sub(st.lowSince)
		if dec.lowFor < tm.scaleDownAfter {
			dec.hold = fmt.Sprintf("demand low for %v of %v", dec.lowFor, tm.scaleDownAfter)
			return dec, st
		}
		if cooling {
			dec.hold = fmt.Sprintf("cooling down for %v more", coolingUntil.Sub(now))
			return dec, st
		}
		dec.to = st.lowPeak
	default:
		st.lowSince, st.lowPeak = time.Time{}, 0
	}
	return dec, st
}

// message is the reason Nomad records with a scale event, written for the
// operator who reads `nomad job scaling-events`.
func (d decision) message(group string, dem Demand, slots int, b bounds) string {
	msg := fmt.Sprintf("scale %s %d→%d: %d jobs waiting, %d slots in use, %d slots per worker",
		group, d.from, d.to, dem.Waiting, dem.InUse, slots)
	switch {
	case d.need > b.max:
		msg += fmt.Sprintf("; %d workers needed, capped at max %d", d.need, b.max)
	case d.need < b.min:
		msg += fmt.Sprintf("; %d workers needed, kept at min %d", d.need, b.min)
	}
	if d.to < d.from {
		msg += fmt.Sprintf("; demand below %d workers for %v", d.from, roundDuration(d.lowFor))
	}
	return msg
}

// roundDuration keeps a duration readable in a message: whole seconds from
// a second up, milliseconds below.
func roundDuration(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}
