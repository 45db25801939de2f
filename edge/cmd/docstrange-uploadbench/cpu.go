package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of /proc's CPU times: 100 on every Linux
// architecture Go runs on.
const clockTick = 10 * time.Millisecond

// parsePidStat reads utime+stime from the text of /proc/PID/stat. The
// command name (field 2) may hold spaces and parentheses, so the fields
// are counted after its last ')'.
func parsePidStat(s string) (time.Duration, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected stat %q", s)
	}
	// After the name: state (field 3), ..., utime (14), stime (15).
	fields := strings.Fields(s[i+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("unexpected stat %q", s)
	}
	var ticks uint64
	for _, f := range fields[11:13] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected stat %q", s)
		}
		ticks += v
	}
	return time.Duration(ticks) * clockTick, nil
}

// processCPU is the user+system CPU time pid has used so far.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the CPU time of pid %d: %w", pid, err)
	}
	return parsePidStat(string(b))
}

// machineStat is the aggregate "cpu" line of /proc/stat in clock ticks.
type machineStat struct {
	busy, total uint64
	cpus        int
}

// parseProcStat reads the "cpu" line: user nice system idle iowait irq
// softirq steal ... Guest time is already inside user and nice, so only
// the first eight fields count; idle and iowait are not busy.
func parseProcStat(r io.Reader) (machineStat, error) {
	var m machineStat
	found := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || !strings.HasPrefix(fields[0], "cpu") {
			continue
		}
		if fields[0] != "cpu" {
			m.cpus++
			continue
		}
		for i, f := range fields[1:min(len(fields), 9)] {
			v, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				return machineStat{}, fmt.Errorf("unexpected /proc/stat line %q", sc.Text())
			}
			m.total += v
			if i != 3 && i != 4 {
				m.busy += v
			}
		}
		found = true
	}
	if !found || m.cpus == 0 {
		return machineStat{}, fmt.Errorf("no cpu lines in /proc/stat")
	}
	return m, sc.Err()
}

func readMachineStat() (machineStat, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return machineStat{}, err
	}
	defer f.Close()
	return parseProcStat(f)
}

// busyFraction is the share of all CPUs' time between a and b that was
// busy; -1 when it cannot be told.
func busyFraction(a, b machineStat) float64 {
	if b.total <= a.total || b.busy < a.busy {
		return -1
	}
	return float64(b.busy-a.busy) / float64(b.total-a.total)
}
