package main

import "time"

// cpuSample is a reading of this process's CPU time and, where the OS shows
// it, the whole machine's. Client and server usually share the machine, so
// the bench reports how many cores it burned itself next to how many the
// machine burned in all: the difference is roughly what the edge had.
type cpuSample struct {
	at           time.Time
	self         time.Duration // user+system time of this process
	selfOK       bool
	machineBusy  uint64 // clock ticks not idle or waiting for I/O, all CPUs
	machineTotal uint64 // all clock ticks, all CPUs
	machineCPUs  int
	machineOK    bool
}

// cpuUsage is the CPU used between two samples, in cores: 1.5 means one
// and a half cores busy for the whole interval.
type cpuUsage struct {
	ClientCores      float64
	ClientOK         bool
	MachineBusyCores float64
	MachineCPUs      int
	MachineOK        bool
}

func sampleCPU() cpuSample {
	s := cpuSample{at: time.Now()}
	s.self, s.selfOK = processCPU()
	s.machineBusy, s.machineTotal, s.machineCPUs, s.machineOK = machineCPU()
	return s
}

// since is the usage from earlier to s.
func (s cpuSample) since(earlier cpuSample) cpuUsage {
	var u cpuUsage
	wall := s.at.Sub(earlier.at)
	if wall > 0 && s.selfOK && earlier.selfOK {
		u.ClientCores = float64(s.self-earlier.self) / float64(wall)
		u.ClientOK = true
	}
	if s.machineOK && earlier.machineOK && s.machineTotal > earlier.machineTotal {
		busy := float64(s.machineBusy - earlier.machineBusy)
		total := float64(s.machineTotal - earlier.machineTotal)
		u.MachineBusyCores = busy / total * float64(s.machineCPUs)
		u.MachineCPUs = s.machineCPUs
		u.MachineOK = true
	}
	return u
}
