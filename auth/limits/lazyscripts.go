package limits

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// lazyScripts is the client handed to ulule's Redis store. SCRIPT LOAD is
// answered locally with the script's digest, and an EVALSHA the server does
// not know (first use, or after a restart emptied its script cache) is
// resent as EVAL, as redis.Script.Run does. So building the store needs no
// server, and every round trip runs under the caller's context.
type lazyScripts struct {
	redis.UniversalClient
	scripts sync.Map // hex SHA-1 → script source
}

func newLazyScripts(c redis.UniversalClient) *lazyScripts {
	return &lazyScripts{UniversalClient: c}
}

// ScriptLoad records the script and returns its digest without I/O.
func (c *lazyScripts) ScriptLoad(ctx context.Context, script string) *redis.StringCmd {
	sum := sha1.Sum([]byte(script))
	sha := hex.EncodeToString(sum[:])
	c.scripts.Store(sha, script)
	cmd := redis.NewStringCmd(ctx, "script", "load", script)
	cmd.SetVal(sha)
	return cmd
}

// EvalSha falls back to EVAL, which also caches the script on the server,
// when the server answers NOSCRIPT. A context from withTTLSink gets the
// reply's TTL.
func (c *lazyScripts) EvalSha(ctx context.Context, sha string, keys []string, args ...any) *redis.Cmd {
	cmd := c.UniversalClient.EvalSha(ctx, sha, keys, args...)
	if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
		if script, ok := c.scripts.Load(sha); ok {
			cmd = c.UniversalClient.Eval(ctx, script.(string), keys, args...)
		}
	}
	if sink, ok := ctx.Value(ttlSinkKey{}).(*time.Duration); ok {
		*sink = replyTTL(cmd)
	}
	return cmd
}

// ttlSinkKey marks a context whose Increment wants the window's TTL.
type ttlSinkKey struct{}

// withTTLSink returns a context under which ulule's Redis Increment stores
// the window's remaining TTL, in milliseconds as Redis keeps it, in *sink
// (0 when the reply holds none). ulule itself rounds the window's end down
// to the second, which made every edge stop using blocks up to a second
// before each window ended and send each request of that second to Redis
// on its own.
func withTTLSink(ctx context.Context, sink *time.Duration) context.Context {
	return context.WithValue(ctx, ttlSinkKey{}, sink)
}

// replyTTL reads the TTL in milliseconds from ulule's increment script's
// reply {count, ttl}.
func replyTTL(cmd *redis.Cmd) time.Duration {
	v, err := cmd.Slice()
	if err != nil || len(v) != 2 {
		return 0
	}
	ms, ok := v[1].(int64)
	if !ok || ms <= 0 {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}
