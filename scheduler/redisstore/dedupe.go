package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/docstrange/mesh/scheduler"
	"github.com/redis/go-redis/v9"
)

// linkDedupeLua defines link_dedupe, which points a dedupe key at a job that
// just became reusable, unless the key already points at a newer job (a
// larger id) whose record still exists. The key expires with the job's
// result at ExpiresAt, not with its record ExpiresAt + RecordGrace later:
// past ExpiresAt the result is no longer an answer. The job's hash keeps
// the dedupe key in its field dkey, so Update and Delete find the entry.
//
// Arguments: dedupe key, job key, id, expire-at unix ms ("" when none), job
// key prefix.
//
// Ids are compared byte by byte, as List orders them: Lua's own string
// comparison follows the server's locale.
const linkDedupeLua = `
local function id_after(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x > y end
  end
  return #a > #b
end
local function link_dedupe(dkey, jkey, id, pexpireat, prefix)
  if redis.call('EXISTS', jkey) == 0 then return 0 end
  local cur = redis.call('GET', dkey)
  if cur and id_after(cur, id) and redis.call('EXISTS', prefix .. cur) == 1 then
    return 0
  end
  redis.call('SET', dkey, id)
  if pexpireat == '' then
    redis.call('PERSIST', dkey)
  else
    redis.call('PEXPIREAT', dkey, pexpireat)
  end
  redis.call('HSET', jkey, 'dkey', dkey)
  return 1
end
`

// linkDedupeScript runs link_dedupe on its own.
//
// KEYS: dedupe, job. ARGV: id, expire-at unix ms ("" when none), job key
// prefix.
var linkDedupeScript = redis.NewScript(linkDedupeLua + `
return link_dedupe(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])
`)

// unlinkDedupeScript drops a dedupe entry if it still points at the job,
// and the job's note of it.
//
// KEYS: dedupe, job. ARGV: id.
var unlinkDedupeScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
if redis.call('HGET', KEYS[2], 'dkey') == KEYS[1] then
  redis.call('HDEL', KEYS[2], 'dkey')
end
return 1
`)

// FindDedupe returns the job the dedupe key points at if that job is still
// reusable. An entry whose job is gone, changed or no longer reusable is
// deleted on the way, so the next lookup does not repeat the check.
func (s *Store) FindDedupe(ctx context.Context, key string) (*scheduler.Job, error) {
	if err := s.open(); err != nil {
		return nil, err
	}
	dkey := s.dedupeKey(key)
	id, err := s.rdb.Get(ctx, dkey).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("finding dedupe key: %w", scheduler.ErrNotFound)
	}
	if err != nil {
		return nil, s.fail("finding dedupe key", err)
	}
	j, err := s.Get(ctx, id)
	switch {
	case errors.Is(err, scheduler.ErrNotFound):
	case err != nil:
		return nil, err
	case j.DedupeKey == key && j.Reusable(time.Now()):
		return j, nil
	}
	if err := unlinkDedupeScript.Run(ctx, s.rdb, []string{dkey, s.jobKey(id)}, id).Err(); err != nil {
		return nil, s.fail(fmt.Sprintf("dropping stale dedupe entry of job %q", id), err)
	}
	return nil, fmt.Errorf("finding dedupe key: %w", scheduler.ErrNotFound)
}

// dedupeLink is the dedupe key j belongs under now, "" when it belongs under
// none.
func (s *Store) dedupeLink(j *scheduler.Job, now time.Time) string {
	if j.DedupeKey == "" || !j.Reusable(now) {
		return ""
	}
	return s.dedupeKey(j.DedupeKey)
}

// dedupeExpireAt is link_dedupe's expire-at argument for j.
func dedupeExpireAt(j *scheduler.Job) string {
	if j.ExpiresAt.IsZero() {
		return ""
	}
	return strconv.FormatInt(j.ExpiresAt.UnixMilli(), 10)
}

func (s *Store) dedupeKey(key string) string { return s.cfg.Prefix + "dedupe:" + key }
