// Package placement decides, for one scheduling round, which queued jobs run
// on which worker allocation now. It is the only place those decisions are
// made, and it does no I/O: the scheduler hands it a Snapshot (the healthy
// workers discovery sees, the tenants' in-flight counts) and the pending jobs,
// and gets back the assignments and, for every job left behind, the reason it
// waits, which the job's status shows.
//
// The rules, strongest first:
//
//   - Capacity: a worker never receives more jobs than its free slots,
//     Slots-InUse, counted from zero.
//   - Device: a gpu job runs only on a GPU worker and a cpu job only on a CPU
//     worker, so a job never lands on the other kind by surprise (DESIGN §5).
//     An auto job (or one with no device, which Options normalizes to auto)
//     may use either, but takes a CPU worker whenever one it may use in the
//     same region has room: GPUs are the scarce device, so they stay free for
//     the jobs that cannot run anywhere else.
//   - Backend: a job that names a backend runs only on a worker that
//     advertises it.
//   - Region: a job runs in its home region, its own Region or else the
//     snapshot's. It spills to another region only when Snapshot.AllowSpill
//     is set and no worker it may use at home has room. Region outranks the
//     CPU preference, so an auto job takes a home GPU before a foreign CPU:
//     crossing regions costs latency and egress, a GPU slot costs neither.
//   - Order: higher Priority first. Within a priority, tenants share slots
//     max-min fairly (see NewPlacer), and each tenant's jobs go FIFO by
//     EnqueuedAt, then ID.
//   - Among the workers left, a Scorer picks; equal scores go to the lowest
//     worker ID.
//   - No idle slot strands a job: where a waiting job could run if one placed
//     job of another class moved to a free worker it may also use (an auto
//     job from a CPU to an idle GPU, say), that job moves and the waiting one
//     takes its slot.
//
// The result depends only on the input, never on map iteration order or the
// clock, so that a round can be replayed and two scheduler replicas given the
// same snapshot agree.
package placement
