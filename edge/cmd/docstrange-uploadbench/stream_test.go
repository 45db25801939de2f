package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"
)

func TestStreamFillAnyOffset(t *testing.T) {
	s := newStream(1)
	// A window across the block's end, filled at once and in odd pieces.
	start, n := int64(blockSize-5000), 20000
	whole := make([]byte, n)
	s.fill(whole, start)
	tests := []struct {
		name   string
		pieces []int
	}{
		{name: "bytes then pages", pieces: []int{1, 7, 4095, 3, 9000}},
		{name: "one byte at a time over a stamp", pieces: []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
		{name: "unaligned large", pieces: []int{4999, 2, 12345}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			off := start
			for _, p := range tt.pieces {
				got := make([]byte, p)
				s.fill(got, off)
				if want := whole[off-start : off-start+int64(p)]; !bytes.Equal(got, want) {
					t.Fatalf("fill(%d bytes at %d) differs from the same bytes filled at once", p, off)
				}
				off += int64(p)
			}
		})
	}
}

func TestStreamDeterministicAndDistinct(t *testing.T) {
	a, b, c := newStream(7), newStream(7), newStream(8)
	pa, pb, pc := make([]byte, 1<<16), make([]byte, 1<<16), make([]byte, 1<<16)
	a.fill(pa, 12345)
	b.fill(pb, 12345)
	c.fill(pc, 12345)
	if !bytes.Equal(pa, pb) {
		t.Error("the same seed gave different bytes")
	}
	if bytes.Equal(pa, pc) {
		t.Error("different seeds gave the same bytes")
	}
	// The block repeats, but the page stamps tell its copies apart, so a
	// page stored at the wrong offset changes the hash.
	first, second := make([]byte, pageSize), make([]byte, pageSize)
	a.fill(first, 0)
	a.fill(second, blockSize)
	if bytes.Equal(first, second) {
		t.Error("the page at 0 and the page one block later are equal")
	}
	if !bytes.Equal(first[stampSize:], second[stampSize:]) {
		t.Error("beyond the stamp, the block's copies should be equal")
	}
}

func TestStreamSHA256MatchesChunkedReads(t *testing.T) {
	s := newStream(3)
	const size = 3*blockSize/2 + 77
	want, err := s.sha256(size)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	for _, sp := range chunkSpans(size, 3<<20+5) {
		n, err := io.Copy(h, s.reader(sp.off, sp.n))
		if err != nil || n != sp.n {
			t.Fatalf("reading span %v: %d bytes, %v", sp, n, err)
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("hash of the chunked reads = %s, want %s", got, want)
	}
}
