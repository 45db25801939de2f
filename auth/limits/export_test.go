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
