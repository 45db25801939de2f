package dispatch

import (
	"maps"

	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/placement"
)

// DeviceDemand is what one device class of workers must serve, as of the
// last placement round: the autoscaler sizes worker groups from it.
type DeviceDemand struct {
	// Waiting counts held jobs that this round could not place.
	Waiting int
	// InUse counts the slots of the class's healthy workers that hold or
	// were just given a job.
	InUse int
	// Workers counts the class's healthy workers.
	Workers int
}

// Demand returns the last round's demand per device class ("cpu", "gpu"),
// both always present. A job that may run anywhere counts as CPU demand:
// the CPU group is the one to grow for it.
func (d *Dispatcher) Demand() map[string]DeviceDemand {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]DeviceDemand{scheduler.DeviceCPU: {}, scheduler.DeviceGPU: {}}
	maps.Copy(out, d.demand)
	return out
}

// noteDemand records a round's demand.
func (d *Dispatcher) noteDemand(workers []placement.Worker, jobs []placement.Job, assigned []placement.Assignment, waiting []placement.Wait) {
	out := map[string]DeviceDemand{scheduler.DeviceCPU: {}, scheduler.DeviceGPU: {}}
	class := make(map[string]string, len(workers))
	for _, w := range workers {
		if w.Device != scheduler.DeviceCPU && w.Device != scheduler.DeviceGPU {
			continue
		}
		class[w.ID] = w.Device
		dd := out[w.Device]
		dd.Workers++
		dd.InUse += min(max(w.InUse, 0), w.Slots)
		out[w.Device] = dd
	}
	for _, a := range assigned {
		if c, ok := class[a.WorkerID]; ok {
			dd := out[c]
			dd.InUse++
			out[c] = dd
		}
	}
	device := make(map[string]string, len(jobs))
	for _, j := range jobs {
		device[j.ID] = j.Device
	}
	for _, w := range waiting {
		c := scheduler.DeviceCPU
		if device[w.JobID] == scheduler.DeviceGPU {
			c = scheduler.DeviceGPU
		}
		dd := out[c]
		dd.Waiting++
		out[c] = dd
	}
	d.mu.Lock()
	d.demand = out
	d.mu.Unlock()
}
