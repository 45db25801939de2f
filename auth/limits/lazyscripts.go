package limits

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"sync"

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
// when the server answers NOSCRIPT.
func (c *lazyScripts) EvalSha(ctx context.Context, sha string, keys []string, args ...any) *redis.Cmd {
	cmd := c.UniversalClient.EvalSha(ctx, sha, keys, args...)
	if !redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
		return cmd
	}
	script, ok := c.scripts.Load(sha)
	if !ok {
		return cmd
	}
	return c.UniversalClient.Eval(ctx, script.(string), keys, args...)
}
