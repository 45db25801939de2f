package docstrange

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rs/xid"

	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/blob"
	"github.com/docstrange/mesh/scheduler/memstore"
)

func TestRetentionSweep(t *testing.T) {
	ctx := context.Background()
	jobs, err := memstore.Open(ctx, memstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer jobs.Close()
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	mk := func(expires time.Time) string {
		id := "job_" + xid.New().String()
		if _, err := jobs.Create(ctx, &scheduler.Job{ID: id, Tenant: "t", Status: scheduler.StatusSucceeded, CreatedAt: now, ExpiresAt: expires}); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"input", "result.json"} {
			if _, err := blobs.Put(ctx, "jobs/"+id+"/"+k, strings.NewReader("x"), 0); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	due, fresh := mk(now.Add(-time.Second)), mk(now.Add(time.Hour))
	r := &retention{jobs: jobs, blobs: blobs, every: time.Hour, log: slog.New(slog.NewTextHandler(io.Discard, nil))}

	r.sweep(ctx, now)
	j, err := jobs.Get(ctx, due)
	if err != nil || !j.ResultExpired || !j.ExpiresAt.After(now.Add(recordGrace-time.Minute)) {
		t.Fatalf("due job after first sweep: %+v, %v", j, err)
	}
	if _, _, err := blobs.Open(ctx, "jobs/"+due+"/result.json"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("artifacts of an expired job remain: %v", err)
	}
	if j, _ := jobs.Get(ctx, fresh); j.ResultExpired {
		t.Fatal("fresh job expired")
	}
	if _, _, err := blobs.Open(ctx, "jobs/"+fresh+"/result.json"); err != nil {
		t.Fatalf("fresh job lost its result: %v", err)
	}

	// A job listed as due and redriven before its step is taken keeps its
	// input: the step re-checks the record.
	redriven := mk(now.Add(-time.Second))
	if _, err := jobs.Update(ctx, redriven, func(j *scheduler.Job) error {
		j.Status, j.ExpiresAt = scheduler.StatusQueued, time.Time{}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := r.expire(ctx, redriven, now); !errors.Is(err, errNotDue) {
		t.Fatalf("expire of a redriven job = %v, want errNotDue", err)
	}
	if j, _ := jobs.Get(ctx, redriven); j.ResultExpired {
		t.Fatal("a redriven job was marked expired")
	}
	if _, _, err := blobs.Open(ctx, "jobs/"+redriven+"/input"); err != nil {
		t.Fatalf("a redriven job lost its input: %v", err)
	}

	// After the grace period the record itself goes.
	r.sweep(ctx, now.Add(recordGrace+time.Minute))
	if _, err := jobs.Get(ctx, due); !errors.Is(err, scheduler.ErrNotFound) {
		t.Fatalf("record outlived its grace: %v", err)
	}
}
