package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	backendv1 "github.com/docstrange/mesh/plugins/proto/v1"
)

// GRPCPlugin is the go-plugin glue for Backend, over gRPC only.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Impl is the served backend; nil on the host side.
	Impl Backend
}

// GRPCServer registers Impl on s.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return errors.New("serving backend plugin: no implementation")
	}
	backendv1.RegisterBackendServer(s, NewGRPCServer(p.Impl))
	return nil
}

// GRPCClient returns a *GRPCClient over c.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return NewGRPCClient(c), nil
}

// GRPCClient is the host side of the boundary: a Backend and a Negotiator
// that forward to a plugin process.
type GRPCClient struct {
	client backendv1.BackendClient
}

// NewGRPCClient returns a client over conn.
func NewGRPCClient(conn grpc.ClientConnInterface) *GRPCClient {
	return &GRPCClient{client: backendv1.NewBackendClient(conn)}
}

// Negotiate implements Negotiator.
func (c *GRPCClient) Negotiate(ctx context.Context, hostVersions []string) (string, error) {
	resp, err := c.client.Negotiate(ctx, &backendv1.NegotiateRequest{HostApiVersions: hostVersions})
	if err != nil {
		return "", fmt.Errorf("negotiating API version: %w", fromStatus(ctx, err))
	}
	// Decide on this side too, so that a plugin that answers a version the
	// host never offered is refused as well.
	v, err := NegotiateAPIVersion(hostVersions, resp.GetPluginApiVersions())
	if err != nil {
		return "", err
	}
	if resp.GetApiVersion() != v {
		return "", fmt.Errorf("negotiating API version: plugin chose %q, host expected %q", resp.GetApiVersion(), v)
	}
	return v, nil
}

// Info implements Backend.
func (c *GRPCClient) Info(ctx context.Context) (Info, error) {
	resp, err := c.client.Info(ctx, &backendv1.InfoRequest{})
	if err != nil {
		return Info{}, fmt.Errorf("getting backend info: %w", fromStatus(ctx, err))
	}
	return infoFromProto(resp), nil
}

// Health implements Backend.
func (c *GRPCClient) Health(ctx context.Context) (Health, error) {
	resp, err := c.client.Health(ctx, &backendv1.HealthRequest{})
	if err != nil {
		return Health{}, fmt.Errorf("checking backend health: %w", fromStatus(ctx, err))
	}
	return Health{Status: healthStatusFromProto(resp.GetStatus()), Detail: resp.GetDetail()}, nil
}

// Process implements Backend. Returning from Process, for whatever reason,
// cancels the stream, which cancels the work in the plugin.
func (c *GRPCClient) Process(ctx context.Context, req *ProcessRequest, emit func(ItemResult) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.client.Process(ctx, processRequestToProto(req))
	if err != nil {
		return fmt.Errorf("processing %s: %w", req.Task, fromStatus(ctx, err))
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("processing %s: %w", req.Task, fromStatus(ctx, err))
		}
		if err := emit(itemResultFromProto(msg)); err != nil {
			return err
		}
	}
}

// GRPCServer is the plugin side of the boundary: it serves a Backend as
// backendv1.BackendServer.
type GRPCServer struct {
	backendv1.UnimplementedBackendServer
	impl Backend

	mu         sync.Mutex
	apiVersion string
}

// NewGRPCServer returns a server for impl.
func NewGRPCServer(impl Backend) *GRPCServer {
	return &GRPCServer{impl: impl}
}

// APIVersion returns the negotiated API version, or "" before Negotiate.
func (s *GRPCServer) APIVersion() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apiVersion
}

// Negotiate implements backendv1.BackendServer.
func (s *GRPCServer) Negotiate(ctx context.Context, req *backendv1.NegotiateRequest) (*backendv1.NegotiateResponse, error) {
	info, err := s.info(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &backendv1.NegotiateResponse{PluginApiVersions: info.APIVersions}
	v, err := NegotiateAPIVersion(req.GetHostApiVersions(), info.APIVersions)
	if err != nil {
		// The host builds the same error from our list; answering rather
		// than failing lets it name both lists.
		return resp, nil
	}
	resp.ApiVersion = v
	s.mu.Lock()
	s.apiVersion = v
	s.mu.Unlock()
	if setter, ok := s.impl.(APIVersionSetter); ok {
		setter.SetAPIVersion(v)
	}
	return resp, nil
}

// Info implements backendv1.BackendServer.
func (s *GRPCServer) Info(ctx context.Context, _ *backendv1.InfoRequest) (*backendv1.InfoResponse, error) {
	info, err := s.info(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return infoToProto(info), nil
}

func (s *GRPCServer) info(ctx context.Context) (Info, error) {
	info, err := s.impl.Info(ctx)
	if err != nil {
		return Info{}, err
	}
	if len(info.APIVersions) == 0 {
		info.APIVersions = SupportedAPIVersions()
	}
	return info, nil
}

// Health implements backendv1.BackendServer.
func (s *GRPCServer) Health(ctx context.Context, _ *backendv1.HealthRequest) (*backendv1.HealthResponse, error) {
	h, err := s.impl.Health(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &backendv1.HealthResponse{Status: healthStatusToProto(h.Status), Detail: h.Detail}, nil
}

// Process implements backendv1.BackendServer. The stream's context is the
// call's: the host cancelling the call cancels impl's work.
func (s *GRPCServer) Process(req *backendv1.ProcessRequest, stream grpc.ServerStreamingServer[backendv1.ItemResult]) error {
	var mu sync.Mutex
	emit := func(r ItemResult) error {
		mu.Lock()
		defer mu.Unlock()
		return stream.Send(itemResultToProto(r))
	}
	if err := s.impl.Process(stream.Context(), processRequestFromProto(req), emit); err != nil {
		return toStatus(err)
	}
	return nil
}

// toStatus maps contract errors onto gRPC codes, for fromStatus to map back.
func toStatus(err error) error {
	code := codes.Unknown
	switch {
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, ErrUnsupportedTask):
		code = codes.Unimplemented
	case errors.Is(err, ErrUnavailable):
		code = codes.Unavailable
	}
	return status.Error(code, err.Error())
}

// fromStatus maps a gRPC error back onto the contract's errors. ctx's own
// error wins, so that a caller who cancelled sees context.Canceled.
func fromStatus(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.Canceled:
		return withSentinel(context.Canceled, st.Message())
	case codes.DeadlineExceeded:
		return withSentinel(context.DeadlineExceeded, st.Message())
	case codes.Unimplemented:
		return withSentinel(ErrUnsupportedTask, st.Message())
	case codes.Unavailable:
		return withSentinel(ErrUnavailable, st.Message())
	default:
		return errors.New(st.Message())
	}
}

// withSentinel wraps sentinel around msg without repeating the sentinel's
// text when msg already starts with it.
func withSentinel(sentinel error, msg string) error {
	msg = strings.TrimPrefix(msg, sentinel.Error())
	msg = strings.TrimPrefix(msg, ": ")
	if msg == "" {
		return sentinel
	}
	return fmt.Errorf("%w: %s", sentinel, msg)
}
