package nomad

import (
	"strings"
	"testing"
	"time"

	nomadapi "github.com/hashicorp/nomad/api"
)

var testTimings = timings{coolDown: 30 * time.Second, scaleDownAfter: time.Minute, maxGap: 15 * time.Second}

func TestDecide(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	ago := func(d time.Duration) time.Time { return t0.Add(-d) }
	cpu := bounds{min: 1, max: 20}
	tests := []struct {
		name   string
		count  int
		b      bounds
		d      Demand
		slots  int
		st     groupState
		wantTo int
		// wantDesired is the clamped demand; wantHold whether a reason to
		// hold is given; wantLowSince the low window's start afterwards.
		wantDesired  int
		wantHold     bool
		wantLowSince time.Time
	}{
		{name: "scale up at once", count: 1, b: cpu, d: Demand{Waiting: 9, InUse: 2}, slots: 2, wantTo: 6, wantDesired: 6},
		{name: "clamp at max", count: 1, b: bounds{1, 3}, d: Demand{Waiting: 9, InUse: 2}, slots: 2, wantTo: 3, wantDesired: 3},
		{name: "at max stays", count: 3, b: bounds{1, 3}, d: Demand{Waiting: 90}, slots: 2, wantTo: 3, wantDesired: 3},
		{name: "clamp at min lifts a count below it", count: 0, b: bounds{1, 3}, slots: 2, wantTo: 1, wantDesired: 1},
		{name: "idle at min stays", count: 1, b: cpu, slots: 2, st: groupState{seen: ago(5 * time.Second)}, wantTo: 1, wantDesired: 1},
		{name: "never below min when idle", count: 4, b: bounds{2, 8}, slots: 2,
			st:     groupState{lowSince: ago(2 * time.Minute), lowPeak: 2, seen: ago(5 * time.Second)},
			wantTo: 2, wantDesired: 2, wantLowSince: ago(2 * time.Minute)},
		{name: "a partly used worker counts whole", count: 1, b: cpu, d: Demand{Waiting: 1, InUse: 2}, slots: 2, wantTo: 2, wantDesired: 2},
		{name: "cool-down blocks a scale up", count: 2, b: cpu, d: Demand{Waiting: 20}, slots: 2,
			st: groupState{lastScale: ago(10 * time.Second)}, wantTo: 2, wantDesired: 10, wantHold: true},
		{name: "up after the cool-down", count: 2, b: cpu, d: Demand{Waiting: 20}, slots: 2,
			st: groupState{lastScale: ago(31 * time.Second)}, wantTo: 10, wantDesired: 10},
		{name: "demand up again ends the low window", count: 3, b: cpu, d: Demand{InUse: 20}, slots: 2,
			st: groupState{lowSince: ago(50 * time.Second), lowPeak: 1, seen: ago(5 * time.Second)}, wantTo: 10, wantDesired: 10},
		{name: "low demand starts the window", count: 3, b: cpu, slots: 2,
			wantTo: 3, wantDesired: 1, wantHold: true, wantLowSince: t0},
		{name: "low, but not for long enough", count: 3, b: cpu, slots: 2,
			st:     groupState{lowSince: ago(59 * time.Second), lowPeak: 1, seen: ago(5 * time.Second)},
			wantTo: 3, wantDesired: 1, wantHold: true, wantLowSince: ago(59 * time.Second)},
		{name: "down after ScaleDownAfter", count: 3, b: cpu, slots: 2,
			st:     groupState{lowSince: ago(time.Minute), lowPeak: 1, seen: ago(5 * time.Second)},
			wantTo: 1, wantDesired: 1, wantLowSince: ago(time.Minute)},
		{name: "down to the window's peak, not its last sample", count: 5, b: cpu, slots: 2,
			st:     groupState{lowSince: ago(2 * time.Minute), lowPeak: 3, seen: ago(5 * time.Second)},
			wantTo: 3, wantDesired: 1, wantLowSince: ago(2 * time.Minute)},
		{name: "a blip back to the count resets the window", count: 3, b: cpu, d: Demand{InUse: 6}, slots: 2,
			st:     groupState{lowSince: ago(2 * time.Minute), lowPeak: 1, seen: ago(5 * time.Second)},
			wantTo: 3, wantDesired: 3},
		{name: "a gap in watching restarts the window", count: 3, b: cpu, slots: 2,
			st:     groupState{lowSince: ago(2 * time.Minute), lowPeak: 1, seen: ago(20 * time.Second)},
			wantTo: 3, wantDesired: 1, wantHold: true, wantLowSince: t0},
		{name: "cool-down blocks a scale down", count: 3, b: cpu, slots: 2,
			st:     groupState{lastScale: ago(10 * time.Second), lowSince: ago(2 * time.Minute), lowPeak: 1, seen: ago(5 * time.Second)},
			wantTo: 3, wantDesired: 1, wantHold: true, wantLowSince: ago(2 * time.Minute)},
		{name: "gpu from 0 to 1 when a gpu job waits", count: 0, b: bounds{0, 8}, d: Demand{Waiting: 1}, slots: 4, wantTo: 1, wantDesired: 1},
		{name: "idle gpu stays at 0", count: 0, b: bounds{0, 8}, slots: 4, wantTo: 0, wantDesired: 0},
		{name: "negative demand counts as none", count: 1, b: cpu, d: Demand{Waiting: -5, InUse: -1}, slots: 2, wantTo: 1, wantDesired: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dec, st := decide(t0, tc.count, tc.b, tc.d, tc.slots, tc.st, testTimings)
			if dec.to != tc.wantTo || dec.desired != tc.wantDesired || dec.from != tc.count {
				t.Errorf("decide = %d→%d (desired %d); want %d→%d (desired %d)", dec.from, dec.to, dec.desired, tc.count, tc.wantTo, tc.wantDesired)
			}
			if (dec.hold != "") != tc.wantHold {
				t.Errorf("hold = %q; want a reason: %v", dec.hold, tc.wantHold)
			}
			if !st.lowSince.Equal(tc.wantLowSince) {
				t.Errorf("lowSince = %v; want %v", st.lowSince, tc.wantLowSince)
			}
			if !st.seen.Equal(t0) {
				t.Errorf("seen = %v; want now", st.seen)
			}
			if st.lastScale != tc.st.lastScale {
				t.Errorf("decide moved lastScale; only a scale Nomad took may")
			}
		})
	}
}

// TestDecideOverTime drives one group through a day in minutes: a burst
// scales up at once, a lull shorter than ScaleDownAfter (cut by a blip)
// keeps the workers, a long lull scales down, but never below min.
func TestDecideOverTime(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	b := bounds{min: 1, max: 5}
	var st groupState
	count := 1
	step := func(at time.Duration, d Demand) decision {
		t.Helper()
		now := t0.Add(at)
		dec, next := decide(now, count, b, d, 2, st, testTimings)
		st = next
		if dec.to != count {
			st.scaled(now)
			count = dec.to
		}
		return dec
	}
	busy, idle := Demand{Waiting: 6, InUse: 4}, Demand{}
	if dec := step(0, busy); dec.to != 5 {
		t.Fatalf("burst: count %d; want 5 (max)", dec.to)
	}
	for at := 5 * time.Second; at <= 40*time.Second; at += 5 * time.Second {
		step(at, idle)
	}
	step(45*time.Second, Demand{InUse: 10}) // a blip back to five workers' worth
	for at := 50 * time.Second; at <= 105*time.Second; at += 5 * time.Second {
		if dec := step(at, idle); dec.to != 5 {
			t.Fatalf("at %v, %v after the blip: scaled to %d; want the window to have started over", at, at-45*time.Second, dec.to)
		}
	}
	dec := step(110*time.Second, idle)
	if dec.to != 1 {
		t.Fatalf("60s after the blip: count %d (%s); want 1", dec.to, dec.hold)
	}
	for at := 115 * time.Second; at < 10*time.Minute; at += 5 * time.Second {
		if dec := step(at, idle); dec.to != 1 {
			t.Fatalf("idle at %v: count %d; want to stay at min 1", at, dec.to)
		}
	}
}

func TestDecisionMessage(t *testing.T) {
	dec, _ := decide(time.Now(), 1, bounds{1, 3}, Demand{Waiting: 9, InUse: 2}, 2, groupState{}, testTimings)
	got := dec.message("cpu", Demand{Waiting: 9, InUse: 2}, 2, bounds{1, 3})
	want := "scale cpu 1→3: 9 jobs waiting, 2 slots in use, 2 slots per worker; 6 workers needed, capped at max 3"
	if got != want {
		t.Errorf("message = %q; want %q", got, want)
	}
	down := decision{need: 0, desired: 1, from: 3, to: 1, lowFor: 61 * time.Second}
	if got := down.message("cpu", Demand{}, 2, bounds{1, 3}); !strings.HasSuffix(got, "kept at min 1; demand below 3 workers for 1m1s") {
		t.Errorf("down message = %q", got)
	}
}

func TestScalable(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	yes, no := true, false
	group := func(name string, s *nomadapi.ScalingPolicy) *nomadapi.TaskGroup {
		count := 2
		return &nomadapi.TaskGroup{Name: &name, Count: &count, Scaling: s}
	}
	job := &nomadapi.Job{TaskGroups: []*nomadapi.TaskGroup{
		group("cpu", &nomadapi.ScalingPolicy{Min: i64(1), Max: i64(20), Enabled: &yes}),
		group("implicit", &nomadapi.ScalingPolicy{Min: i64(0), Max: i64(4)}),
		group("off", &nomadapi.ScalingPolicy{Min: i64(1), Max: i64(20), Enabled: &no}),
		group("fixed", nil),
		group("nomax", &nomadapi.ScalingPolicy{Min: i64(1)}),
		group("upside-down", &nomadapi.ScalingPolicy{Min: i64(5), Max: i64(2)}),
	}}
	tests := []struct {
		name    string
		group   string
		want    bounds
		wantWhy string
	}{
		{name: "enabled", group: "cpu", want: bounds{1, 20}},
		{name: "enabled by default", group: "implicit", want: bounds{0, 4}},
		{name: "disabled", group: "off", wantWhy: "disabled"},
		{name: "no scaling block", group: "fixed", wantWhy: "no scaling block"},
		{name: "no max", group: "nomax", wantWhy: "lacks min or max"},
		{name: "min above max", group: "upside-down", wantWhy: "unusable"},
		{name: "missing group", group: "tpu", wantWhy: "no such group"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg, b, why := scalable(job, tc.group)
			if tc.wantWhy == "" {
				if why != "" || tg == nil || b != tc.want {
					t.Fatalf("scalable = %v, %+v, %q; want %+v", tg != nil, b, why, tc.want)
				}
				return
			}
			if tg != nil || !strings.Contains(why, tc.wantWhy) {
				t.Fatalf("scalable = %v, %q; want left alone because %q", tg != nil, why, tc.wantWhy)
			}
		})
	}
}
