package limits_test

import (
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/docstrange/mesh/auth/limits"
	"github.com/docstrange/mesh/internal/redistest"
	"go.etcd.io/bbolt"
)

// Each backend's "baseline" is the cheapest round trip on the same
// resource (a map under a mutex, a PING on the same client, an empty bbolt
// transaction), so the cost of the operation reads as a ratio to it.

func BenchmarkTake(b *testing.B) {
	r := limits.Rate{Requests: 1 << 40, Period: time.Hour}

	b.Run("memory/baseline", func(b *testing.B) {
		var mu sync.Mutex
		m := map[string]int64{}
		for b.Loop() {
			mu.Lock()
			m["free:acme"]++
			mu.Unlock()
		}
	})
	b.Run("memory/take", func(b *testing.B) {
		l := limits.NewMemoryRateLimiter("rl")
		for b.Loop() {
			if _, err := l.Take(b.Context(), "free:acme", r); err != nil {
				b.Fatal(err)
			}
		}
	})

	client := newClient(b, redistest.Start(b))
	b.Run("redis/baseline", func(b *testing.B) {
		for b.Loop() {
			if err := client.Ping(b.Context()).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	// A busy key takes its requests in blocks; "take-each" is a key whose
	// blocks never grow, one trip per request (a quiet key, or the limiter
	// before blocks).
	for _, tt := range []struct {
		name     string
		interval time.Duration
		parallel bool
	}{
		{name: "redis/take", interval: 10 * time.Millisecond},
		{name: "redis/take-each", interval: 0},
		{name: "redis/take-parallel", interval: 10 * time.Millisecond, parallel: true},
		{name: "redis/take-each-parallel", interval: 0, parallel: true},
	} {
		b.Run(tt.name, func(b *testing.B) {
			l, err := limits.NewRedisRateLimiter(client, "rl")
			if err != nil {
				b.Fatal(err)
			}
			limits.SetBlockInterval(l, tt.interval)
			key := "free:" + tt.name
			if !tt.parallel {
				for b.Loop() {
					if _, err := l.Take(b.Context(), key, r); err != nil {
						b.Fatal(err)
					}
				}
				return
			}
			b.SetParallelism(50)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := l.Take(b.Context(), key, r); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func BenchmarkReserve(b *testing.B) {
	q := limits.Quota{Documents: -1, Period: limits.Month}
	now := time.Now()

	dir := b.TempDir()
	b.Run("bolt/baseline", func(b *testing.B) {
		db, err := bbolt.Open(filepath.Join(dir, "empty.db"), 0o600, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = db.Close() })
		for b.Loop() {
			if err := db.View(func(*bbolt.Tx) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	// A Reserve is a write transaction: the fsync dominates.
	b.Run("bolt/baseline-update", func(b *testing.B) {
		db, err := bbolt.Open(filepath.Join(dir, "update.db"), 0o600, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = db.Close() })
		for i := 0; b.Loop(); i++ {
			err := db.Update(func(tx *bbolt.Tx) error {
				bk, err := tx.CreateBucketIfNotExists([]byte("b"))
				if err != nil {
					return err
				}
				return bk.Put([]byte("k"), []byte(strconv.Itoa(i)))
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bolt/reserve", func(b *testing.B) {
		s := openBolt(b, filepath.Join(dir, "quotas.db"))
		for b.Loop() {
			if _, err := s.Reserve(b.Context(), "acme", q, 1, now); err != nil {
				b.Fatal(err)
			}
		}
	})

	client := newClient(b, redistest.Start(b))
	b.Run("redis/baseline", func(b *testing.B) {
		for b.Loop() {
			if err := client.Ping(b.Context()).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("redis/reserve", func(b *testing.B) {
		s := limits.NewRedisQuotas(client, "quota")
		for b.Loop() {
			if _, err := s.Reserve(b.Context(), "acme", q, 1, now); err != nil {
				b.Fatal(err)
			}
		}
	})
}
