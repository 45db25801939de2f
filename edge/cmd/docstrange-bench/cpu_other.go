//go:build !linux

package main

import "time"

// Elsewhere the bench reports latencies without CPU figures.

func processCPU() (time.Duration, bool) { return 0, false }

func machineCPU() (busy, total uint64, cpus int, ok bool) { return 0, 0, 0, false }
