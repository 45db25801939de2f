package nomad

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	consul "github.com/hashicorp/consul/api"
)

// LeaderKey is the Consul KV key the schedulers' lock lives at.
const LeaderKey = "docstrange/scheduler/leader"

// Leadership timings. A leader that stops hands the lock over at once (it
// releases it). A leader that dies is found out by its liveness check: a
// TTL check it renews every CheckRenew, which turns critical CheckTTL after
// the last renewal; the lock's session is tied to it, so Consul invalidates
// the session then, and the key is free again LockDelay later: a standby
// takes over within about 5s of a kill -9. The session's own TTL is only
// the backstop for a lost agent.
const (
	SessionTTL = "10s"
	LockDelay  = time.Second
	CheckTTL   = 3 * time.Second
	CheckRenew = time.Second
)

// Lead runs lead while this process holds the lock at key, ending lead's
// context when the lock is lost (session expired, Consul unreachable), and
// competes again until ctx ends. name labels the session in Consul.
func Lead(ctx context.Context, client *consul.Client, key, name string, log *slog.Logger, lead func(ctx context.Context)) error {
	if key == "" {
		key = LeaderKey
	}
	checkID, err := liveness(ctx, client, name, log)
	if err != nil {
		return err
	}
	lock, err := client.LockOpts(&consul.LockOptions{
		Key: key, Value: []byte(name), MonitorRetries: 3, LockWaitTime: 5 * time.Second,
		SessionOpts: &consul.SessionEntry{
			Name: name, TTL: SessionTTL, LockDelay: LockDelay, Behavior: consul.SessionBehaviorRelease,
			Checks: []string{"serfHealth", checkID},
		},
	})
	if err != nil {
		return fmt.Errorf("preparing the leader lock: %w", err)
	}
	backoff := time.Second
	for ctx.Err() == nil {
		lost, err := lock.Lock(ctx.Done())
		if err != nil {
			log.WarnContext(ctx, "acquiring the leader lock", "error", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 10*time.Second)
			continue
		}
		if lost == nil { // ctx ended while waiting
			return nil
		}
		backoff = time.Second
		log.InfoContext(ctx, "leading", "key", key)
		lctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-lost:
			case <-lctx.Done():
			}
			cancel()
		}()
		lead(lctx)
		cancel()
		if err := lock.Unlock(); err != nil && err != consul.ErrLockNotHeld && ctx.Err() == nil {
			log.WarnContext(ctx, "releasing the leader lock", "error", err)
		}
		log.InfoContext(ctx, "no longer leading", "key", key)
	}
	return nil
}

// liveness registers this process in Consul as a service with a TTL check
// and keeps it passing until ctx ends, then removes it. A service check,
// not a node check: a critical node check would hide every service on the
// node, the workers there included. It returns the check's id.
func liveness(ctx context.Context, client *consul.Client, name string, log *slog.Logger) (string, error) {
	id := "docstrange-scheduler-lock-" + name
	err := client.Agent().ServiceRegister(&consul.AgentServiceRegistration{
		ID: id, Name: "docstrange-scheduler-lock", Meta: map[string]string{"replica": name},
		Check: &consul.AgentServiceCheck{CheckID: id, TTL: CheckTTL.String(), Status: consul.HealthPassing, DeregisterCriticalServiceAfter: "1m"},
	})
	if err != nil {
		return "", fmt.Errorf("registering the liveness check: %w", err)
	}
	go func() {
		t := time.NewTicker(CheckRenew)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				if err := client.Agent().ServiceDeregister(id); err != nil {
					log.Warn("removing the liveness check", "error", err)
				}
				return
			case <-t.C:
				if err := client.Agent().UpdateTTL(id, "", consul.HealthPassing); err != nil && ctx.Err() == nil {
					log.WarnContext(ctx, "renewing the liveness check", "error", err)
				}
			}
		}
	}()
	return id, nil
}
