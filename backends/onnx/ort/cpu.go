package ort

import (
	"runtime"

	"golang.org/x/sys/cpu"
)

// Int8PairsSaturate reports whether ONNX Runtime's CPU kernels on this
// machine multiply uint8 activations by int8 weights with vpmaddubsw, which
// adds each pair of products in int16 with saturation: x86 without VNNI
// (AVX2 or AVX-512 without its VNNI extension). There, a model quantized
// with full-range int8 weights loses accuracy where 255·127·2 overflows,
// and weights must leave a bit free (graphopt.QuantOptions.ReduceRange).
// VNNI CPUs and arm64 add in int32.
func Int8PairsSaturate() bool {
	return runtime.GOARCH == "amd64" && !cpu.X86.HasAVX512VNNI && !cpu.X86.HasAVXVNNI
}
