//go:build !unix

package main

import "time"

// selfCPU is unknown here: the bench measures servers through Linux's
// /proc and only builds elsewhere.
func selfCPU() time.Duration { return 0 }

func syncDisks() {}
