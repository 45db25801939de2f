package limits

import "time"

// SetBlockInterval sets how long a Redis RateLimiter's blocks should last,
// so that a test decides whether they grow (a long interval: always) or stay
// a single request (zero: never) instead of the machine's speed deciding.
func SetBlockInterval(l *RateLimiter, d time.Duration) {
	l.blocks.mu.Lock()
	defer l.blocks.mu.Unlock()
	l.blocks.interval = d
}

// WaitTrips waits until no trip to Redis is in flight for any key, so that
// a test reads Redis's counters after the blocks taken ahead have landed.
func WaitTrips(l *RateLimiter) {
	for {
		l.blocks.mu.Lock()
		n := 0
		for _, ls := range l.blocks.leases {
			n += ls.trips
		}
		l.blocks.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
