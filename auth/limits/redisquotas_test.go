package limits_test

import (
	"testing"
	"time"

	"github.com/docstrange/mesh/auth/limits"
	"github.com/docstrange/mesh/internal/redistest"
)

// Redis drops past periods itself: each counter expires a day after its
// period ends, and a late Release does not bring an expired one back.
func TestRedisQuotasExpire(t *testing.T) {
	client := newClient(t, redistest.Start(t))
	s := limits.NewRedisQuotas(client, "quota")
	now := utc(2026, 6, 30, 18, 0, 0)
	tests := []struct {
		name    string
		tenant  string
		q       limits.Quota
		key     string
		wantTTL time.Duration // period end + a day, from now
	}{
		{name: "day", tenant: "acme", q: limits.Quota{Documents: 5, Period: limits.Day}, key: "quota:acme:2026-06-30", wantTTL: 30 * time.Hour},
		{name: "month", tenant: "acme", q: limits.Quota{Documents: 5, Period: limits.Month}, key: "quota:acme:2026-06", wantTTL: 30 * time.Hour},
		{name: "tenant with a colon", tenant: "a:b", q: limits.Quota{Documents: 5, Period: limits.Month}, key: "quota:a:b:2026-06", wantTTL: 30 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reserve(t, s, tt.tenant, tt.q, 1, now)
			ttl, err := client.TTL(t.Context(), tt.key).Result()
			if err != nil {
				t.Fatalf("TTL: %v", err)
			}
			if ttl < tt.wantTTL-5*time.Second || ttl > tt.wantTTL+5*time.Second {
				t.Fatalf("TTL of %s = %v; want about %v", tt.key, ttl, tt.wantTTL)
			}
		})
	}

	if err := client.Del(t.Context(), "quota:acme:2026-06-30").Err(); err != nil {
		t.Fatalf("Del: %v", err)
	}
	release(t, s, "acme", limits.Quota{Documents: 5, Period: limits.Day}, 1, now)
	if n, err := client.Exists(t.Context(), "quota:acme:2026-06-30").Result(); err != nil || n != 0 {
		t.Fatalf("Exists after a release into an expired period = %d, %v; want 0", n, err)
	}
}
