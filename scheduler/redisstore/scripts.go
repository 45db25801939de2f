package redisstore

import "github.com/redis/go-redis/v9"

// The Lua scripts make each multi-key step atomic: Redis runs a script to the
// end before it serves anything else, and with appendfsync always it is in
// the AOF before the reply. Keys a script derives from data (a job's hash
// found through the queue) are built from the prefix argument, so the store
// needs a single Redis node or a cluster slot per prefix.
//
// Times come from the server's TIME so that every replica judges leases by
// the same clock.

// createScript stores the record, its indexes and the queue entry, unless
// the idempotency key or the id is taken. A job created already reusable
// gets its dedupe entry too.
//
// KEYS: job, idem ("" when none), tenant, stream, entries, expires, dedupe
// ("" when none).
// ARGV: json, id, tkey, ikey, expires score ("" when none), record
// expire-at unix seconds, job key prefix, dedupe expire-at unix ms ("" when
// none).
var createScript = redis.NewScript(linkDedupeLua + `
if ARGV[4] ~= '' then
  local prev = redis.call('GET', KEYS[2])
  if prev then
    local j = redis.call('HGET', ARGV[7] .. prev, 'json')
    if j then return {'dup', j} end
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return {'exists'} end
local entry = redis.call('XADD', KEYS[4], '*', 'id', ARGV[2])
redis.call('HSET', KEYS[1], 'json', ARGV[1], 'tkey', ARGV[3], 'ikey', ARGV[4])
redis.call('HSET', KEYS[5], ARGV[2], entry)
redis.call('ZADD', KEYS[3], 0, ARGV[2])
if ARGV[4] ~= '' then redis.call('SET', KEYS[2], ARGV[2]) end
if ARGV[5] ~= '' then
  redis.call('ZADD', KEYS[6], ARGV[5], ARGV[2])
  redis.call('EXPIREAT', KEYS[1], ARGV[6])
  if ARGV[4] ~= '' then redis.call('EXPIREAT', KEYS[2], ARGV[6]) end
end
if KEYS[7] ~= '' then link_dedupe(KEYS[7], KEYS[1], ARGV[2], ARGV[8], ARGV[7]) end
return {'ok', entry}
`)

// deleteScript removes a record and every index and queue trace of it.
//
// KEYS: job, stream, entries, leases, tokens, expires, webhooks,
// deadletters. ARGV: id, group.
var deleteScript = redis.NewScript(`
local f = redis.call('HMGET', KEYS[1], 'tkey', 'ikey', 'dkey')
if f[1] then redis.call('ZREM', f[1], ARGV[1]) end
if f[2] and f[2] ~= '' and redis.call('GET', f[2]) == ARGV[1] then
  redis.call('DEL', f[2])
end
if f[3] and redis.call('GET', f[3]) == ARGV[1] then redis.call('DEL', f[3]) end
local entry = redis.call('HGET', KEYS[3], ARGV[1])
if entry then
  redis.call('XACK', KEYS[2], ARGV[2], entry)
  redis.call('XDEL', KEYS[2], entry)
end
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[6], ARGV[1])
redis.call('ZREM', KEYS[7], ARGV[1])
redis.call('ZREM', KEYS[8], ARGV[1])
redis.call('DEL', KEYS[1])
return 1
`)

// webhooksDueScript returns up to limit ids of the webhooks index due by
// now, dropping the entries of records Redis already expired.
//
// KEYS: webhooks. ARGV: now in ms, limit, job key prefix.
var webhooksDueScript = redis.NewScript(`
local ids = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(ids) do
  if redis.call('EXISTS', ARGV[3] .. id) == 1 then
    out[#out + 1] = id
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
`)

// deadLettersScript returns up to limit ids of the dead-letter index
// scored below a bound, newest first, dropping the entries of records Redis
// already expired; it reads on past dropped ones so a page is short only at
// the end.
//
// KEYS: deadletters. ARGV: exclusive upper bound ("+inf" or "(" .. ms),
// limit, job key prefix.
var deadLettersScript = redis.NewScript(`
local limit = tonumber(ARGV[2])
local out = {}
local max = ARGV[1]
local offset = 0
while #out < limit do
  local ids = redis.call('ZRANGE', KEYS[1], max, '-inf', 'BYSCORE', 'REV', 'LIMIT', offset, limit)
  if #ids == 0 then break end
  for _, id in ipairs(ids) do
    if #out < limit then
      if redis.call('EXISTS', ARGV[3] .. id) == 1 then
        out[#out + 1] = id
        offset = offset + 1
      else
        redis.call('ZREM', KEYS[1], id)
      end
    end
  end
end
return out
`)

// listScript pages through a tenant's ids newest first and returns the
// records, dropping ids whose record Redis already expired. The first
// element is 1 when more jobs follow.
//
// KEYS: tenant. ARGV: exclusive upper bound ("+" or "(" .. cursor),
// limit, job key prefix.
var listScript = redis.NewScript(`
local limit = tonumber(ARGV[2])
local max = ARGV[1]
local out = {0}
while true do
  local ids = redis.call('ZREVRANGEBYLEX', KEYS[1], max, '-', 'LIMIT', 0, limit + 1)
  for _, id in ipairs(ids) do
    local j = redis.call('HGET', ARGV[3] .. id, 'json')
    if j then
      if #out > limit then
        out[1] = 1
        return out
      end
      out[#out + 1] = j
    else
      redis.call('ZREM', KEYS[1], id)
    end
    max = '(' .. id
  end
  if #ids <= limit then return out end
end
`)

// claimScript hands out an expired lease first, else the next new entry,
// and records the lease. With nothing to hand out it returns where a
// blocking read should start and when the next lease expires.
//
// KEYS: stream, entries, leases, tokens.
// ARGV: group, consumer, ttl ms, token, job key prefix.
// Returns {id, token, deadline ms}, or {empty, last entry id, next deadline
// ms or -1, now ms}.
var claimScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local deadline = now + tonumber(ARGV[3])
local function lease(id)
  redis.call('ZADD', KEYS[3], deadline, id)
  redis.call('HSET', KEYS[4], id, ARGV[4])
  return {id, ARGV[4], deadline}
end
for _ = 1, 100 do
  local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 1)
  if #due == 0 then break end
  local id = due[1]
  local entry = redis.call('HGET', KEYS[2], id)
  local claimed = {}
  if entry then
    claimed = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, entry, 'JUSTID')
  end
  if #claimed > 0 and redis.call('EXISTS', ARGV[5] .. id) == 1 then
    return lease(id)
  end
  if entry then
    redis.call('XACK', KEYS[1], ARGV[1], entry)
    redis.call('XDEL', KEYS[1], entry)
  end
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
end
for _ = 1, 100 do
  local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', 1, 'STREAMS', KEYS[1], '>')
  if not r then break end
  local entry = r[1][2][1][1]
  local id = r[1][2][1][2][2]
  local current = redis.call('HGET', KEYS[2], id) == entry
  if current and redis.call('EXISTS', ARGV[5] .. id) == 1 then
    return lease(id)
  end
  if current then redis.call('HDEL', KEYS[2], id) end
  redis.call('XACK', KEYS[1], ARGV[1], entry)
  redis.call('XDEL', KEYS[1], entry)
end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local lastID = '0-0'
if #last > 0 then lastID = last[1][1] end
local nxt = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
local wake = -1
if #nxt > 0 then wake = tonumber(nxt[2]) end
return {'', lastID, wake, now}
`)

// enqueueScript appends a job to a queue. A job already in it, waiting or
// leased, is replaced: its old entry and any lease go, so it is handed out
// once more and the old holder's Extend and Ack answer ErrLeaseLost.
//
// KEYS: stream, entries, leases, tokens. ARGV: id, group.
var enqueueScript = redis.NewScript(`
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then
  redis.call('XACK', KEYS[1], ARGV[2], old)
  redis.call('XDEL', KEYS[1], old)
end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], redis.call('XADD', KEYS[1], '*', 'id', ARGV[1]))
return 1
`)

// extendScript renews a lease that is still held and not yet expired.
//
// KEYS: leases, tokens. ARGV: id, token, ttl ms.
// Returns the new deadline in ms, or -1 when the lease is lost.
var extendScript = redis.NewScript(`
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return -1 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local d = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not d or tonumber(d) < now then return -1 end
local deadline = now + tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], deadline, ARGV[1])
return deadline
`)

// releaseScript ends a lease: for good (Ack) or by queueing the job again
// at the tail (Requeue). A lease that another consumer took over is left
// alone.
//
// KEYS: stream, entries, leases, tokens.
// ARGV: id, token, group, "requeue" or "ack".
// Returns 1, or 0 when the lease is lost.
var releaseScript = redis.NewScript(`
if redis.call('HGET', KEYS[4], ARGV[1]) ~= ARGV[2] then return 0 end
local entry = redis.call('HGET', KEYS[2], ARGV[1])
if entry then
  redis.call('XACK', KEYS[1], ARGV[3], entry)
  redis.call('XDEL', KEYS[1], entry)
end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
if ARGV[4] == 'requeue' then
  redis.call('HSET', KEYS[2], ARGV[1], redis.call('XADD', KEYS[1], '*', 'id', ARGV[1]))
else
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return 1
`)

// statsScript measures the backlog: entries not yet delivered, leases, and
// the age of the oldest undelivered entry from its id's timestamp.
//
// KEYS: stream, leases. ARGV: group.
// Returns {depth, leased, oldest age ms}.
var statsScript = redis.NewScript(`
local pending = redis.call('XPENDING', KEYS[1], ARGV[1])[1]
local depth = redis.call('XLEN', KEYS[1]) - pending
local leased = redis.call('ZCARD', KEYS[2])
local age = 0
if depth > 0 then
  local last = '0-0'
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    local name, lastID
    for i = 1, #g, 2 do
      if g[i] == 'name' then name = g[i + 1] end
      if g[i] == 'last-delivered-id' then lastID = g[i + 1] end
    end
    if name == ARGV[1] then last = lastID end
  end
  local first = redis.call('XRANGE', KEYS[1], '(' .. last, '+', 'COUNT', 1)
  if #first > 0 then
    local ms = tonumber(string.match(first[1][1], '^(%d+)'))
    local t = redis.call('TIME')
    age = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - ms
    if age < 0 then age = 0 end
  end
end
return {depth, leased, age}
`)
