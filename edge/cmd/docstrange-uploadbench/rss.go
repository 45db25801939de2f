package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// memStatus is the memory part of /proc/PID/status.
type memStatus struct {
	rss int64 // VmRSS, bytes
	hwm int64 // VmHWM, the peak RSS since start or the last reset, bytes
}

// parseStatus reads VmRSS and VmHWM ("VmRSS:\t   12345 kB") from the
// text of /proc/PID/status. VmRSS is required; VmHWM is 0 when absent.
func parseStatus(r io.Reader) (memStatus, error) {
	var m memStatus
	haveRSS := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			return memStatus{}, fmt.Errorf("reading %s: unexpected value %q", name, value)
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || kb < 0 {
			return memStatus{}, fmt.Errorf("reading %s: unexpected value %q", name, value)
		}
		if name == "VmRSS" {
			m.rss, haveRSS = kb<<10, true
		} else {
			m.hwm = kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return memStatus{}, fmt.Errorf("reading status: %w", err)
	}
	if !haveRSS {
		return memStatus{}, fmt.Errorf("no VmRSS line (a kernel thread or a zombie?)")
	}
	return m, nil
}

func readStatus(pid int) (memStatus, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memStatus{}, fmt.Errorf("reading the RSS of pid %d: %w", pid, err)
	}
	defer f.Close()
	m, err := parseStatus(f)
	if err != nil {
		return memStatus{}, fmt.Errorf("reading the RSS of pid %d: %w", pid, err)
	}
	return m, nil
}

// resetPeak sets the process's VmHWM back to its current RSS (Linux 4.0+),
// so that after an upload it is that upload's peak, spikes between two
// samples included. It needs the right to write /proc/PID/clear_refs.
func resetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// rssStats is one process's memory during one upload.
type rssStats struct {
	// Before is the RSS just before the upload's POST.
	Before int64 `json:"before_bytes"`
	// Max is the largest sample, the one after the last PATCH included.
	Max int64 `json:"max_sample_bytes"`
	// After is the RSS after the last PATCH.
	After int64 `json:"after_bytes"`
	// Peak is the kernel's VmHWM after the upload, 0 when it could not be
	// reset before it.
	Peak int64 `json:"peak_bytes,omitempty"`
	// Samples counts the samples taken.
	Samples int `json:"samples"`
	// Growth is how far the RSS rose above Before: see rssGrowth.
	Growth int64 `json:"growth_bytes"`
}

// rssGrowth is the rise of a process's RSS during an upload: the largest
// sample, or the kernel's peak when it was reset before the upload (peak >
// 0) and is larger, less the RSS before it. Sampling alone could miss a
// spike shorter than the interval.
func rssGrowth(before, maxSample, peak int64) int64 {
	return max(maxSample, peak) - before
}

// rssSampler samples one process's RSS until stopped.
type rssSampler struct {
	pid       int
	peakReset bool
	stats     rssStats
	err       error
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	mu        sync.Mutex
}

// startRSS takes the first sample and then one every interval. A pid of 0
// gives a sampler that measures nothing.
func startRSS(ctx context.Context, pid int, every time.Duration) (*rssSampler, error) {
	s := &rssSampler{pid: pid}
	if pid == 0 {
		return s, nil
	}
	s.peakReset = resetPeak(pid) == nil
	m, err := readStatus(pid)
	if err != nil {
		return nil, err
	}
	s.stats.Before, s.stats.Max, s.stats.Samples = m.rss, m.rss, 1
	ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s, nil
}

func (s *rssSampler) sample() memStatus {
	m, err := readStatus(s.pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.err == nil {
			s.err = err
		}
		return memStatus{}
	}
	s.stats.Max = max(s.stats.Max, m.rss)
	s.stats.Samples++
	return m
}

// stop takes the last sample and returns the upload's numbers; measured is
// false for a pid of 0.
func (s *rssSampler) stop() (stats rssStats, measured bool, err error) {
	if s.pid == 0 {
		return rssStats{}, false, nil
	}
	s.cancel()
	s.wg.Wait()
	last := s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return rssStats{}, true, s.err
	}
	s.stats.After = last.rss
	if s.peakReset {
		s.stats.Peak = last.hwm
	}
	s.stats.Growth = rssGrowth(s.stats.Before, s.stats.Max, s.stats.Peak)
	return s.stats, true, nil
}
