package main

import (
	"bufio"
	"os"
	"runtime"
	"strings"

	"github.com/docstrange/mesh/backends/onnx/ort"
)

// cpuName is the processor's model name from /proc/cpuinfo, or the
// architecture where there is none.
func cpuName() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// int8Kernels says how ONNX Runtime multiplies int8 on this CPU.
func int8Kernels() string {
	if ort.Int8PairsSaturate() {
		return "pairs summed in int16 (x86 without VNNI: slower, 7-bit weights)"
	}
	if runtime.GOARCH == "amd64" {
		return "VNNI"
	}
	return runtime.GOARCH
}
