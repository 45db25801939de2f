package limits_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/docstrange/mesh/auth/limits"
)

func TestBoltQuotasPrunesPastPeriods(t *testing.T) {
	s := openBolt(t, filepath.Join(t.TempDir(), "quotas.db"))
	day := limits.Quota{Documents: 10, Period: limits.Day}
	month := limits.Quota{Documents: 10, Period: limits.Month}
	jan := utc(2026, 1, 10, 12, 0, 0)
	feb28 := utc(2026, 2, 28, 12, 0, 0)
	reserve(t, s, "acme", day, 1, jan)
	reserve(t, s, "acme", month, 1, jan)
	reserve(t, s, "acme", day, 1, feb28)
	reserve(t, s, "acme", month, 1, feb28)

	// The first Reserve of a new day prunes.
	reserve(t, s, "acme", day, 1, utc(2026, 3, 1, 12, 0, 0))

	tests := []struct {
		name     string
		q        limits.Quota
		at       time.Time
		wantUsed int64
	}{
		{name: "a day long past is dropped", q: day, at: jan, wantUsed: 0},
		{name: "a month long past is dropped", q: month, at: jan, wantUsed: 0},
		{name: "yesterday is kept for late releases", q: day, at: feb28, wantUsed: 1},
		{name: "the month that ended today is kept", q: month, at: feb28, wantUsed: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := usage(t, s, "acme", tt.q, tt.at); got.Used != tt.wantUsed {
				t.Fatalf("Usage = %+v; want Used %d", got, tt.wantUsed)
			}
		})
	}
	// A release into a pruned period is a no-op, not a resurrection.
	release(t, s, "acme", day, 1, jan)
	if got := usage(t, s, "acme", day, jan); got.Used != 0 {
		t.Fatalf("Usage after releasing into a pruned period = %+v; want Used 0", got)
	}
}

func TestBoltQuotasPrunesOnOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "quotas.db")
	s := openBolt(t, path)
	q := limits.Quota{Documents: 10, Period: limits.Month}
	old := time.Now().AddDate(0, -3, 0)
	reserve(t, s, "acme", q, 4, old)
	reserve(t, s, "acme", q, 2, time.Now())
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openBolt(t, path)
	if got := usage(t, s, "acme", q, old); got.Used != 0 {
		t.Fatalf("Usage of a month three months back after reopen = %+v; want pruned", got)
	}
	if got := usage(t, s, "acme", q, time.Now()); got.Used != 2 {
		t.Fatalf("Usage of this month after reopen = %+v; want Used 2", got)
	}
}

func TestBoltQuotasOneProcessAtATime(t *testing.T) {
	t.Parallel() // waits out the file lock's timeout
	path := filepath.Join(t.TempDir(), "quotas.db")
	openBolt(t, path)
	s, err := limits.OpenBoltQuotas(path)
	if err == nil {
		_ = s.Close()
		t.Fatal("a second OpenBoltQuotas of an open file succeeded; want the file lock to refuse it")
	}
}

func TestBoltQuotasClosed(t *testing.T) {
	s := openBolt(t, filepath.Join(t.TempDir(), "quotas.db"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	q := limits.Quota{Documents: 10, Period: limits.Day}
	if _, err := s.Reserve(t.Context(), "acme", q, 1, june); !errors.Is(err, limits.ErrUnavailable) {
		t.Fatalf("Reserve after Close: %v; want ErrUnavailable", err)
	}
	if err := s.Release(t.Context(), "acme", q, 1, june); !errors.Is(err, limits.ErrUnavailable) {
		t.Fatalf("Release after Close: %v; want ErrUnavailable", err)
	}
	if _, err := s.Usage(t.Context(), "acme", q, june); !errors.Is(err, limits.ErrUnavailable) {
		t.Fatalf("Usage after Close: %v; want ErrUnavailable", err)
	}
}

func TestParsePeriod(t *testing.T) {
	tests := []struct {
		in      string
		want    limits.Period
		wantErr bool
	}{
		{in: "day", want: limits.Day},
		{in: "month", want: limits.Month},
		{in: "Month", wantErr: true},
		{in: "monthly", wantErr: true},
		{in: "week", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := limits.ParsePeriod(tt.in)
			if tt.wantErr {
				if !errors.Is(err, limits.ErrInvalidPeriod) {
					t.Fatalf("ParsePeriod(%q) = %q, %v; want ErrInvalidPeriod", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParsePeriod(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}
