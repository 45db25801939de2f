package ort

import (
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestLookupKernels checks both C loops against Go indexing over lengths
// around the 64-byte vector width, the tail included, and in place. The
// VBMI loop runs only where the CPU has it (this project's machines do).
func TestLookupKernels(t *testing.T) {
	if !cpu.X86.HasAVX512VBMI || !cpu.X86.HasAVX512BW {
		t.Log("no AVX-512 VBMI: both cases run the byte loop")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var table [256]byte
	for i := range table {
		table[i] = byte(rng.IntN(256))
	}
	for _, vbmi := range []bool{false, true} {
		for _, n := range []int{1, 3, 63, 64, 65, 127, 128, 200, 4096 + 17} {
			x := make([]byte, n)
			for i := range x {
				x[i] = byte(rng.IntN(256))
			}
			want := make([]byte, n)
			for i, c := range x {
				want[i] = table[c]
			}
			got := make([]byte, n)
			applyLookup(x, &table, got, vbmi)
			applyLookup(x, &table, x, vbmi)
			for i := range want {
				if got[i] != want[i] || x[i] != want[i] {
					t.Fatalf("vbmi %v, n %d: byte %d is %d (in place %d), want %d", vbmi, n, i, got[i], x[i], want[i])
				}
			}
		}
	}
}
