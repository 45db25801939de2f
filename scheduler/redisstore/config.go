package redisstore

import (
	"fmt"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// Defaults of Config.
const (
	DefaultAddr          = "127.0.0.1:6379"
	DefaultPrefix        = "docstrange:"
	DefaultConsumerGroup = "scheduler"
	DefaultRecordGrace   = 7 * 24 * time.Hour
	DefaultClaimPoll     = time.Second
)

// Config says which Redis to use and how to lay out keys in it.
type Config struct {
	// Addr is the server's host:port. Default: 127.0.0.1:6379.
	Addr string `json:"addr,omitempty"`
	// Username is the ACL user. Default: none (the default user).
	Username string `json:"username,omitempty"`
	// Password authenticates the connection. Default: none. Fill it from
	// the environment, never from a file in the repository.
	Password string `json:"password,omitempty"`
	// DB is the logical database number. Default: 0.
	DB int `json:"db,omitempty"`
	// Prefix starts every key and channel name, so that two stacks can share
	// one Redis. Default: "docstrange:".
	Prefix string `json:"prefix,omitempty"`
	// ConsumerGroup is the stream consumer group every scheduler replica
	// claims through. Default: "scheduler".
	ConsumerGroup string `json:"consumer_group,omitempty"`
	// RecordGrace is how long a job record outlives its ExpiresAt before
	// Redis drops it on its own, in case the cleanup loop never deleted it.
	// Default: 7 days.
	RecordGrace caddy.Duration `json:"record_grace,omitempty"`
	// ClaimPoll is the longest single blocking read of Claim. It bounds
	// how long a connection stays parked, not how fast Claim notices new
	// jobs, a cancelled ctx or an expiring lease. Default: 1s.
	ClaimPoll caddy.Duration `json:"claim_poll,omitempty"`
}

// withDefaults validates c and fills in its defaults.
func (c Config) withDefaults() (Config, error) {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.ConsumerGroup == "" {
		c.ConsumerGroup = DefaultConsumerGroup
	}
	if c.RecordGrace == 0 {
		c.RecordGrace = caddy.Duration(DefaultRecordGrace)
	}
	if c.ClaimPoll == 0 {
		c.ClaimPoll = caddy.Duration(DefaultClaimPoll)
	}
	switch {
	case c.DB < 0:
		return c, fmt.Errorf("db %d: must not be negative", c.DB)
	case c.RecordGrace < 0:
		return c, fmt.Errorf("record_grace %s: must not be negative", time.Duration(c.RecordGrace))
	case c.ClaimPoll < caddy.Duration(time.Millisecond):
		return c, fmt.Errorf("claim_poll %s: must be at least 1ms", time.Duration(c.ClaimPoll))
	case strings.ContainsAny(c.Prefix, " \t\r\n"):
		return c, fmt.Errorf("prefix %q: must not contain white space", c.Prefix)
	case strings.ContainsAny(c.ConsumerGroup, " \t\r\n"):
		return c, fmt.Errorf("consumer_group %q: must not contain white space", c.ConsumerGroup)
	}
	return c, nil
}
