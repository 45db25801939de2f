// Package plugins is the contract between the DocStrange host and its
// inference backends: the Backend interface, the go-plugin handshake and
// plugin set, and the gRPC adapters that carry Backend across a process
// boundary (proto/v1).
//
// A backend's main builds its Backend and calls
//
//	plugin.Serve(plugins.ServeConfig(impl))
//
// The host side lives in plugins/host.
package plugins

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// PluginName is the key of the backend in PluginMap, the name the host
// dispenses.
const PluginName = "backend"

// MaxMessageSize bounds one gRPC message in either direction. Batches of page
// images are far bigger than gRPC's 4 MiB default.
const MaxMessageSize = 256 << 20

// Task names a backend may list in Info.Tasks.
const (
	TaskOCRDetect    = "ocr.detect"
	TaskOCRRecognize = "ocr.recognize"
	TaskLayout       = "layout"
)

// Backend is what an inference backend implements, in process or behind a
// plugin boundary.
type Backend interface {
	// Info describes the backend. It is cheap and may be called often.
	Info(ctx context.Context) (Info, error)
	// Health reports whether the backend can take work.
	Health(ctx context.Context) (Health, error)
	// Process runs req.Task over req.Items and calls emit once per item as
	// each completes, in completion order. A failed item is reported through
	// ItemResult.Err, not by failing the call. emit is safe for concurrent
	// use; when it returns an error, Process stops and returns that error.
	// Cancelling ctx aborts the work and Process returns ctx's error.
	// Unknown tasks fail with ErrUnsupportedTask.
	Process(ctx context.Context, req *ProcessRequest, emit func(ItemResult) error) error
}

// APIVersionSetter is implemented by a Backend that behaves differently per
// API version. The server adapter calls SetAPIVersion once the host has
// negotiated one.
type APIVersionSetter interface {
	SetAPIVersion(version string)
}

// Negotiator picks an API version with the other side. *GRPCClient
// implements it.
type Negotiator interface {
	// Negotiate returns the highest API version in both hostVersions and the
	// plugin's list, or a *VersionMismatchError naming both lists.
	Negotiate(ctx context.Context, hostVersions []string) (string, error)
}

// Handshake is the go-plugin handshake both sides must agree on. It guards
// against running a random binary as a backend; API versions are
// negotiated separately, with Negotiate. Treat it as a constant.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "DOCSTRANGE_BACKEND_PLUGIN",
	MagicCookieValue: "6f1c0e3a9b2d4e58a7c1f0d2b3e4a5c6",
}

// PluginMap returns the plugin set to serve impl, or, with a nil impl, the
// set a host dispenses from. Each call returns a new map.
func PluginMap(impl Backend) plugin.PluginSet {
	return plugin.PluginSet{PluginName: &GRPCPlugin{Impl: impl}}
}

// ServeConfig returns the go-plugin configuration that serves impl over gRPC
// only, with MaxMessageSize.
func ServeConfig(impl Backend) *plugin.ServeConfig {
	return &plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         PluginMap(impl),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(MaxMessageSize), grpc.MaxSendMsgSize(MaxMessageSize),
				grpc.InitialWindowSize(windowSize), grpc.InitialConnWindowSize(windowSize),
				grpc.ReadBufferSize(bufferSize), grpc.WriteBufferSize(bufferSize))
			return grpc.NewServer(opts...)
		},
	}
}

// DialOptions are the gRPC options a host passes in
// plugin.ClientConfig.GRPCDialOptions, to match ServeConfig.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithDefaultCallOptions(
		grpc.MaxCallRecvMsgSize(MaxMessageSize),
		grpc.MaxCallSendMsgSize(MaxMessageSize),
	),
		grpc.WithInitialWindowSize(windowSize), grpc.WithInitialConnWindowSize(windowSize),
		grpc.WithReadBufferSize(bufferSize), grpc.WithWriteBufferSize(bufferSize),
	}
}

// A page travels as megabytes of pixels over a local socket. With gRPC's
// 64 KiB starting flow-control window and 32 KiB buffers, an 8.7 MB A4
// page took dozens of window updates, each a wake-up of both processes.
const (
	windowSize = 16 << 20
	bufferSize = 1 << 20
)
