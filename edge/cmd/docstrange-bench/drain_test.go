package main

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"
)

func TestDrainJobs(t *testing.T) {
	tests := []struct {
		name          string
		jobTime       time.Duration
		failEvery     int64
		jobs          int
		unknown       int // ids the stub never issued
		budget        time.Duration
		wantSucceeded int
		wantFailed    int
		wantLost      int
		wantUnfinish  int
		maxPolls      int
	}{
		{
			// Few jobs: every poller long-polls one, so each job costs about
			// two polls however long it runs.
			name: "few slow jobs are long-polled", jobTime: 400 * time.Millisecond,
			jobs: 5, budget: 10 * time.Second, wantSucceeded: 5, maxPolls: 15,
		},
		{
			name: "failed jobs are counted with their code", jobTime: 50 * time.Millisecond, failEvery: 3,
			jobs: 40, budget: 10 * time.Second, wantSucceeded: 27, wantFailed: 13,
		},
		{
			name: "a 404 is a lost job, not a wait", jobTime: 10 * time.Millisecond,
			jobs: 3, unknown: 2, budget: 10 * time.Second, wantSucceeded: 3, wantLost: 2, maxPolls: 10,
		},
		{
			name: "the budget ends the drain", jobTime: -1,
			jobs: 3, budget: 300 * time.Millisecond, wantUnfinish: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := &stubEdge{stubConfig: stubConfig{failEvery: tt.failEvery, jobTime: tt.jobTime}}
			srv := stub.start(t)
			u, _ := url.Parse(srv.URL)
			cfg := &config{baseURL: u, clients: 1, timeout: 5 * time.Second, pollConcurrency: 16}
			c := newAPIClient(cfg, &multipartBody{})
			t.Cleanup(c.close)

			start := time.Now()
			var jobs []acceptedJob
			for i := range tt.jobs {
				o := postJob(t, stub, i)
				jobs = append(jobs, acceptedJob{id: o, accepted: time.Now()})
			}
			for i := range tt.unknown {
				jobs = append(jobs, acceptedJob{id: fmt.Sprintf("job_missing_%d", i), accepted: time.Now()})
			}

			d := drainJobs(context.Background(), c, jobs, cfg.pollConcurrency, tt.budget)
			if d.succeeded != tt.wantSucceeded || d.failed != tt.wantFailed || d.lost != tt.wantLost || d.unfinished != tt.wantUnfinish {
				t.Errorf("succeeded %d failed %d lost %d unfinished %d; want %d %d %d %d",
					d.succeeded, d.failed, d.lost, d.unfinished, tt.wantSucceeded, tt.wantFailed, tt.wantLost, tt.wantUnfinish)
			}
			if tt.maxPolls > 0 && d.polls > tt.maxPolls {
				t.Errorf("%d polls, want at most %d", d.polls, tt.maxPolls)
			}
			if tt.wantFailed > 0 && d.failureCodes["PROCESSING_ERROR"] == nil {
				t.Errorf("failure codes %v lack PROCESSING_ERROR", d.failureCodes.sorted())
			}
			if tt.wantUnfinish > 0 && (d.elapsed < tt.budget || d.elapsed > tt.budget+time.Second) {
				t.Errorf("drain took %s with a %s budget", d.elapsed, tt.budget)
			}
			if tt.jobTime > 0 && d.finished() > 0 {
				// The stub reports the exact finished_at, so the rate is
				// measured from it and not from when the poll noticed.
				got := d.lastFinish.Sub(start)
				if got < tt.jobTime || got > tt.jobTime+200*time.Millisecond {
					t.Errorf("last finish %s after start, jobs take %s", got, tt.jobTime)
				}
			}
		})
	}
}

// postJob registers one job with the stub the way a submit would.
func postJob(t *testing.T, s *stubEdge, i int) string {
	t.Helper()
	n := s.accepted.Add(1)
	id := fmt.Sprintf("job_direct_%d", i)
	j := stubJob{created: time.Now()}
	if s.jobTime >= 0 {
		j.finishAt = j.created.Add(s.jobTime)
	}
	if s.failEvery > 0 && n%s.failEvery == 0 {
		j.fail = true
	}
	s.mu.Lock()
	s.jobs[id] = j
	s.mu.Unlock()
	return id
}
