package main

import (
	"slices"
	"testing"
)

func TestChunkSpans(t *testing.T) {
	tests := []struct {
		name      string
		size      int64
		chunk     int64
		wantCount int64
		wantLast  span
		wantSpans []span // checked when set
	}{
		{name: "1GiB in 8MiB", size: 1 << 30, chunk: 8 << 20, wantCount: 128, wantLast: span{off: 127 << 23, n: 8 << 20}},
		{name: "uneven", size: 10, chunk: 4, wantCount: 3, wantSpans: []span{{0, 4}, {4, 4}, {8, 2}}},
		{name: "one byte over", size: 8<<20 + 1, chunk: 8 << 20, wantCount: 2, wantLast: span{off: 8 << 20, n: 1}},
		{name: "chunk larger than size", size: 5, chunk: 8 << 20, wantCount: 1, wantSpans: []span{{0, 5}}},
		{name: "chunk equals size", size: 7, chunk: 7, wantCount: 1, wantSpans: []span{{0, 7}}},
		{name: "empty", size: 0, chunk: 4, wantCount: 0},
		{name: "no chunk", size: 4, chunk: 0, wantCount: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := chunkCount(tt.size, tt.chunk); got != tt.wantCount {
				t.Errorf("chunkCount(%d, %d) = %d, want %d", tt.size, tt.chunk, got, tt.wantCount)
			}
			spans := chunkSpans(tt.size, tt.chunk)
			if int64(len(spans)) != tt.wantCount {
				t.Fatalf("chunkSpans gave %d spans, want %d", len(spans), tt.wantCount)
			}
			if tt.wantSpans != nil && !slices.Equal(spans, tt.wantSpans) {
				t.Errorf("chunkSpans = %v, want %v", spans, tt.wantSpans)
			}
			if tt.wantLast != (span{}) && spans[len(spans)-1] != tt.wantLast {
				t.Errorf("last span = %v, want %v", spans[len(spans)-1], tt.wantLast)
			}
			// Contiguous, none empty or over a chunk, covering size exactly.
			var next int64
			for i, s := range spans {
				if s.off != next || s.n < 1 || s.n > tt.chunk {
					t.Fatalf("span %d = %v after offset %d", i, s, next)
				}
				next = s.off + s.n
			}
			if len(spans) > 0 && next != tt.size {
				t.Errorf("spans end at %d, want %d", next, tt.size)
			}
		})
	}
}
