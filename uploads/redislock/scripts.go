package redislock

import "github.com/redis/go-redis/v9"

// The scripts touch one key each, so they run unchanged on Redis Cluster.
// redis.Script.Run sends EVALSHA and falls back to EVAL when the server does
// not know the script, as after a restart.
var (
	// acquireScript is SET key token NX PX ttl that also returns the token
	// now in the key: the caller's own token when it took the lock, the
	// holder's otherwise. Knowing the holder lets a waiter ask again when the
	// lock changes hands, as memorylocker does.
	//
	// KEYS[1] lock key; ARGV[1] token; ARGV[2] TTL in milliseconds.
	acquireScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
	return ARGV[1]
end
return redis.call('GET', KEYS[1])
`)

	// renewScript extends the lease only while the key still holds the
	// token: 1 when renewed, 0 when the lock expired or changed hands.
	//
	// KEYS[1] lock key; ARGV[1] token; ARGV[2] TTL in milliseconds.
	renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

	// releaseScript deletes the key only while it still holds the token, so
	// a stale holder cannot remove another edge's lock.
	//
	// KEYS[1] lock key; ARGV[1] token.
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)
)
