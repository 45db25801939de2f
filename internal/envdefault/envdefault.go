// Package envdefault gives command-line flags their defaults from the
// environment, so a Nomad task sets a binary's options with env and a person
// with flags, and a flag given on the command line wins.
package envdefault

import (
	"os"
	"strconv"
	"time"
)

// String is the variable's value, or def when it is unset or empty.
func String(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Int is the variable as an integer, or def when it is unset or not one
// (the flag then shows def, and a bad value is the flag parser's to refuse
// when given on the command line).
func Int(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// Duration is the variable as a Go duration, or def when it is unset or
// not one.
func Duration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return v
	}
	return def
}
