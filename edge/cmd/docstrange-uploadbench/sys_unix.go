//go:build unix

package main

import (
	"syscall"
	"time"
)

// selfCPU is the bench's own user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// syncDisks writes every dirty page out, so that no upload pays for the
// previous one's writeback.
func syncDisks() { syscall.Sync() }
