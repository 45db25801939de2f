package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/docstrange/mesh/plugins"
)

// exitPoll is how often a process is checked for having exited; go-plugin
// offers no channel for it.
const exitPoll = 100 * time.Millisecond

// instance is one running backend process.
type instance struct {
	path       string
	sha256     string
	client     *plugin.Client
	backend    plugins.Backend
	info       plugins.Info
	apiVersion string
	pid        int
	started    time.Time

	inflight atomic.Int64
	// calls counts in-flight calls for draining. Add only while the
	// instance is its backend's current one, under backend.mu.
	calls sync.WaitGroup
	// stopping marks an exit the host asked for, which is not a crash.
	stopping atomic.Bool
	// exited is closed once the process has exited.
	exited chan struct{}

	mu          sync.Mutex
	health      plugins.Health
	healthFails int
}

// launch starts the binary at path as backend name and checks it: the API
// version is negotiated, Info read and Health must allow serving. On any
// failure the process is killed.
func (h *Host) launch(ctx context.Context, name, path string) (*instance, error) {
	bc := h.cfg.Backends[name]
	sum, err := fileSHA256(path)
	if err != nil {
		return nil, fmt.Errorf("starting backend %q: %w", name, err)
	}
	var secure *plugin.SecureConfig
	if bc.SHA256 != "" {
		want, err := hex.DecodeString(bc.SHA256)
		if err != nil {
			return nil, fmt.Errorf("starting backend %q: sha256: %w", name, err)
		}
		secure = &plugin.SecureConfig{Checksum: want, Hash: sha256.New()}
	}
	cmd := exec.Command(path, bc.Args...)
	cmd.Env = append(cmd.Env, bc.Env...)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  plugins.Handshake,
		Plugins:          plugins.PluginMap(nil),
		Cmd:              cmd,
		SecureConfig:     secure,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           h.hclog.Named(name),
		StartTimeout:     time.Duration(h.cfg.StartTimeout),
		GRPCDialOptions:  plugins.DialOptions(),
	})
	inst, err := h.check(ctx, client)
	if err != nil {
		client.Kill()
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			err = &ChecksumError{Path: path, Want: bc.SHA256, Got: sum}
		}
		return nil, fmt.Errorf("starting backend %q from %s: %w", name, path, err)
	}
	inst.path, inst.sha256 = path, sum
	return inst, nil
}

// check connects to a new plugin process and vets it.
func (h *Host) check(ctx context.Context, client *plugin.Client) (*instance, error) {
	rpc, err := client.Client()
	if err != nil {
		return nil, err
	}
	raw, err := rpc.Dispense(plugins.PluginName)
	if err != nil {
		return nil, fmt.Errorf("dispensing plugin: %w", err)
	}
	be, ok := raw.(*plugins.GRPCClient)
	if !ok {
		return nil, fmt.Errorf("dispensing plugin: got %T, want *plugins.GRPCClient", raw)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(h.cfg.HealthTimeout))
	defer cancel()
	v, err := be.Negotiate(ctx, h.cfg.APIVersions)
	if err != nil {
		return nil, err
	}
	info, err := be.Info(ctx)
	if err != nil {
		return nil, err
	}
	health, err := be.Health(ctx)
	if err != nil {
		return nil, err
	}
	if !health.Status.CanServe() {
		return nil, fmt.Errorf("%w: %s: %s", ErrUnhealthy, health.Status, health.Detail)
	}
	inst := &instance{
		client:     client,
		backend:    be,
		info:       info,
		apiVersion: v,
		started:    time.Now(),
		exited:     make(chan struct{}),
		health:     health,
	}
	if rc := client.ReattachConfig(); rc != nil {
		inst.pid = rc.Pid
	}
	return inst, nil
}

// watchExit closes inst.exited once the process exits and then calls
// onExit, unless ctx ends first.
func (inst *instance) watchExit(ctx context.Context, onExit func()) {
	t := time.NewTicker(exitPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if inst.client.Exited() {
				close(inst.exited)
				onExit()
				return
			}
		}
	}
}

// stop ends the process on purpose; it blocks until the process is gone.
func (inst *instance) stop() {
	inst.stopping.Store(true)
	inst.client.Kill()
}

func (inst *instance) setHealth(hl plugins.Health, err error, threshold int) (fails int) {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	if err != nil || !hl.Status.CanServe() {
		inst.healthFails++
	} else {
		inst.healthFails = 0
	}
	if err != nil {
		hl = plugins.Health{Status: plugins.HealthUnknown, Detail: err.Error()}
	}
	inst.health = hl
	return inst.healthFails
}

func (inst *instance) lastHealth() plugins.Health {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	return inst.health
}
