package placement

import "time"

// Worker is one healthy worker allocation as discovery sees it: Consul health
// plus the service meta the allocation registers. Only healthy allocations
// belong in a Snapshot; placement treats every Worker it is given as usable.
type Worker struct {
	// ID names the allocation (its Consul service ID); assignments carry it.
	// When two workers share an ID, the first one given wins.
	ID string
	// Node is the Nomad node the allocation runs on. Placement itself does
	// not read it; it travels so a Scorer can, e.g. to spread across nodes.
	Node string
	// Region is where the worker runs; "" means the snapshot's Region, since
	// each region runs its own Consul and sees its own workers.
	Region string
	// Device is "gpu" or "cpu". A worker with any other value gets no jobs,
	// because nothing can be promised about where its jobs would run.
	Device string
	// Backends are the inference backends the worker serves.
	Backends []string
	// Slots is how many jobs the worker runs at once.
	Slots int
	// InUse is how many slots hold jobs now. A value below zero counts as
	// zero and one above Slots leaves no free slot.
	InUse int
}

// Job is one queued job as placement needs it: who asked, how urgent, and
// what it must run on.
type Job struct {
	// ID names the job; a repeated ID is placed at most once (its first
	// occurrence in pending).
	ID string
	// Tenant is who submitted the job; fairness is shared between tenants.
	Tenant string
	// Priority is the tenant's tier as policy numbers it (higher goes
	// first). Placement compares the numbers and reads nothing else into
	// them.
	Priority int
	// Device is "auto", "gpu" or "cpu"; "" is auto, as in Options.
	Device string
	// Region is the job's home region, its edge's; "" means the snapshot's.
	Region string
	// Backend is the backend the job requires; "" means any.
	Backend string
	// EnqueuedAt orders a tenant's jobs FIFO and breaks ties between
	// tenants with equal shares.
	EnqueuedAt time.Time
}

// Snapshot is the scheduler's view of the cluster for one round.
type Snapshot struct {
	// Workers are the healthy allocations, in any order.
	Workers []Worker
	// Now is the round's clock. Place reads no clock of its own, so a round
	// replays exactly; Now is here for Scorers that weigh time.
	Now time.Time
	// Region is the scheduler's own region: home for jobs and workers that
	// name none.
	Region string
	// AllowSpill lets a job run in another region when none of the workers
	// it may use in its home region has room (policy decides it).
	AllowSpill bool
	// InFlight is how many jobs each tenant has running now. It seeds the
	// fair share, so a tenant that already holds many slots waits behind one
	// that holds few; nil means none are running.
	InFlight map[string]int
}

// Assignment sends a job to a worker.
type Assignment struct {
	// JobID is the job's Job.ID.
	JobID string
	// WorkerID is the worker's Worker.ID.
	WorkerID string
}

// Wait is a job that stays queued this round, with the reason its status
// shows, e.g. "no healthy GPU worker" (nothing could ever take it now) as
// against "all GPU workers busy" (it will go when a slot frees).
type Wait struct {
	// JobID is the job's Job.ID.
	JobID string
	// Reason is one line for a person, stable for a class of jobs within a
	// round so that waiting jobs can be grouped by it.
	Reason string
}

// Placer decides one placement round.
type Placer interface {
	// Place returns which pending jobs go to which worker now and why each
	// of the others waits. Every job appears exactly once across the two
	// lists, both in the order the jobs were considered (highest priority
	// and smallest share first), so a Wait's index is its queue position.
	// Place does not modify snap or pending.
	Place(snap Snapshot, pending []Job) (assigned []Assignment, waiting []Wait)
}

// Scorer ranks the workers a job may use. The Placer has already filtered
// them by device, backend, region and free slots, so a Scorer only expresses
// a preference among workers that are all acceptable.
type Scorer interface {
	// Name is the strategy's name as New accepts it.
	Name() string
	// Score rates w for j; higher is better. snap is the round's view: its
	// workers' InUse include the jobs placed earlier in the same round, and
	// w is one of them with a free slot. Score must be a pure function of
	// its arguments (no I/O, clock or randomness) so that rounds replay.
	// Equal scores go to the lowest worker ID, so a Scorer need not break
	// ties.
	Score(snap Snapshot, w Worker, j Job) float64
}
