package keys_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"path/filepath"
	"testing"
	"time"

	"github.com/docstrange/mesh/auth/keys"
)

// BenchmarkVerify measures Verify against a bare HMAC-SHA256 of a 32-byte
// secret with a pre-keyed hash, the least any verification must do. Each Verify sub-benchmark
// reports x_baseline, its ns/op over the baseline's from the same run.
func BenchmarkVerify(b *testing.B) {
	s, err := keys.OpenFile(filepath.Join(b.TempDir(), "keys.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	now := time.Now() // stopped, so the cache entry stays fresh
	kr := newKeyring(b, s, keys.Config{Now: func() time.Time { return now }})
	_, full, err := kr.Issue(b.Context(), "acme", "api_key", "")
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()

	var baseline float64 // ns/op
	nsPerOp := func(b *testing.B) float64 { return float64(b.Elapsed().Nanoseconds()) / float64(b.N) }
	ratio := func(b *testing.B) {
		if baseline > 0 {
			b.ReportMetric(nsPerOp(b)/baseline, "x_baseline")
		}
	}

	b.Run("baseline_hmac", func(b *testing.B) {
		secret := make([]byte, 32)
		want := make([]byte, sha256.Size)
		sum := make([]byte, 0, sha256.Size)
		h := hmac.New(sha256.New, testPepper) // keyed once, as Verify's pool is
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			h.Reset()
			h.Write(secret)
			if hmac.Equal(h.Sum(sum[:0]), want) {
				b.Fatal("impossible match")
			}
		}
		baseline = nsPerOp(b)
	})
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := kr.Verify(ctx, full); err != nil {
				b.Fatal(err)
			}
		}
		ratio(b)
	})
	b.Run("hit_parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := kr.Verify(ctx, full); err != nil {
					b.Error(err)
					return
				}
			}
		})
		ratio(b)
	})
	b.Run("malformed", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := kr.Verify(ctx, "dsk_garbage"); err == nil {
				b.Fatal("accepted garbage")
			}
		}
		ratio(b)
	})
}
