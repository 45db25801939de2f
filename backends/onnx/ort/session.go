package ort

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/proto"

	"github.com/docstrange/mesh/backends/onnx/internal/onnxpb"
)

// Tensor is a dense float32 tensor in row-major order.
type Tensor struct {
	Shape []int64
	Data  []float32
}

// Session is a pool of ONNX Runtime sessions of one model. Run is safe for
// concurrent use; at most Config.PoolSize runs proceed at once.
type Session struct {
	// model names the model in errors; data, while the pool is being
	// opened from memory, is the model itself and model only its name.
	model   string
	data    []byte
	inputs  []string
	outputs []string
	report  ProviderReport
	free    chan *ort.DynamicAdvancedSession

	mu     sync.Mutex
	all    []*ort.DynamicAdvancedSession
	closed bool
}

// NewSession opens cfg.PoolSize sessions of the model at modelPath. When the
// requested provider cannot be appended or the session cannot be created on
// it, the sessions are created on CPU and the failure is kept in Report.
// ctx bounds the (potentially slow) creation between pool members.
func (r *Runtime) NewSession(ctx context.Context, modelPath string, cfg Config) (*Session, error) {
	return r.newSession(ctx, modelPath, nil, cfg)
}

// NewSessionFromBytes is NewSession for a model held in memory, such as one
// rewritten at load time; name identifies it in errors.
func (r *Runtime) NewSessionFromBytes(ctx context.Context, name string, model []byte, cfg Config) (*Session, error) {
	if len(model) == 0 {
		return nil, fmt.Errorf("reading model %q: empty", name)
	}
	return r.newSession(ctx, name, model, cfg)
}

func (r *Runtime) newSession(ctx context.Context, modelPath string, data []byte, cfg Config) (*Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Session{
		model:  modelPath,
		data:   data,
		report: ProviderReport{Requested: cfg.Provider, Active: cfg.Provider},
		free:   make(chan *ort.DynamicAdvancedSession, cfg.PoolSize),
	}
	graph, err := data, error(nil)
	if graph == nil {
		graph, err = os.ReadFile(modelPath)
	}
	if err == nil {
		s.inputs, s.outputs, err = graphIO(graph)
	}
	if err != nil {
		return nil, fmt.Errorf("reading model %q: %w", modelPath, err)
	}
	for range cfg.PoolSize {
		if err := ctx.Err(); err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("opening session %q: %w", modelPath, err)
		}
		sess, err := s.open(cfg)
		if err != nil {
			_ = s.Close()
			return nil, err
		}
		s.all = append(s.all, sess)
		s.free <- sess
	}
	// The pool is complete; ONNX Runtime keeps its own copy of the model.
	s.data = nil
	return s, nil
}

// open creates one session on the active provider, falling back to CPU (and
// recording why) the first time the requested one fails.
func (s *Session) open(cfg Config) (*ort.DynamicAdvancedSession, error) {
	if s.report.Active != ProviderCPU {
		sess, err := s.create(cfg, s.report.Active)
		if err == nil {
			return sess, nil
		}
		s.report.Active = ProviderCPU
		s.report.Reason = err.Error()
	}
	sess, err := s.create(cfg, ProviderCPU)
	if err != nil {
		return nil, fmt.Errorf("opening session %q on cpu: %w", s.model, err)
	}
	return sess, nil
}

// graphIO names a model's inputs (those no initializer gives) and outputs
// from its graph. onnxruntime_go reads them through a temporary session,
// which costs a second session build and, for a model in memory, cannot
// load a custom operator.
func graphIO(data []byte) (ins, outs []string, err error) {
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		return nil, nil, fmt.Errorf("parsing: %w", err)
	}
	if m.Graph == nil {
		return nil, nil, errors.New("parsing: no graph")
	}
	init := map[string]bool{}
	for _, t := range m.Graph.Initializer {
		init[t.Name] = true
	}
	for _, in := range m.Graph.Input {
		if !init[in.Name] {
			ins = append(ins, in.Name)
		}
	}
	for _, o := range m.Graph.Output {
		outs = append(outs, o.Name)
	}
	if len(ins) == 0 || len(outs) == 0 {
		return nil, nil, fmt.Errorf("parsing: %d inputs and %d outputs", len(ins), len(outs))
	}
	return ins, outs, nil
}

func (s *Session) create(cfg Config, provider string) (*ort.DynamicAdvancedSession, error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("creating session options: %w", err)
	}
	defer opts.Destroy()
	if cfg.IntraOpThreads > 0 {
		if err := opts.SetIntraOpNumThreads(cfg.IntraOpThreads); err != nil {
			return nil, fmt.Errorf("setting intra-op threads: %w", err)
		}
	}
	if cfg.InterOpThreads > 0 {
		if err := opts.SetInterOpNumThreads(cfg.InterOpThreads); err != nil {
			return nil, fmt.Errorf("setting inter-op threads: %w", err)
		}
	}
	if err := registerLookup(opts); err != nil {
		return nil, err
	}
	switch provider {
	case ProviderTensorRT:
		if err := appendTensorRT(opts, cfg); err != nil {
			return nil, err
		}
		// CUDA runs the nodes TensorRT does not take.
		if err := appendCUDA(opts, cfg); err != nil {
			return nil, err
		}
	case ProviderCUDA:
		if err := appendCUDA(opts, cfg); err != nil {
			return nil, err
		}
	}
	var sess *ort.DynamicAdvancedSession
	if s.data != nil {
		sess, err = ort.NewDynamicAdvancedSessionWithONNXData(s.data, s.inputs, s.outputs, opts)
	} else {
		sess, err = ort.NewDynamicAdvancedSession(s.model, s.inputs, s.outputs, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("creating %s session: %w", provider, err)
	}
	return sess, nil
}

func appendCUDA(opts *ort.SessionOptions, cfg Config) error {
	po, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return fmt.Errorf("creating cuda provider options: %w", err)
	}
	defer po.Destroy()
	if err := po.Update(cfg.cudaOptions()); err != nil {
		return fmt.Errorf("setting cuda provider options: %w", err)
	}
	if err := opts.AppendExecutionProviderCUDA(po); err != nil {
		return fmt.Errorf("appending cuda provider: %w", err)
	}
	return nil
}

func appendTensorRT(opts *ort.SessionOptions, cfg Config) error {
	po, err := ort.NewTensorRTProviderOptions()
	if err != nil {
		return fmt.Errorf("creating tensorrt provider options: %w", err)
	}
	defer po.Destroy()
	if err := po.Update(cfg.tensorRTOptions()); err != nil {
		return fmt.Errorf("setting tensorrt provider options: %w", err)
	}
	if err := opts.AppendExecutionProviderTensorRT(po); err != nil {
		return fmt.Errorf("appending tensorrt provider: %w", err)
	}
	return nil
}

// Report returns the provider the sessions asked for and got.
func (s *Session) Report() ProviderReport { return s.report }

// Inputs returns the model's input names in order.
func (s *Session) Inputs() []string { return s.inputs }

// Outputs returns the model's output names in order.
func (s *Session) Outputs() []string { return s.outputs }

// Run feeds inputs (one per model input, in order) to a free session and
// returns the outputs as Go-owned tensors. Cancelling ctx while waiting for a
// session returns at once; cancelling it during the run asks ONNX Runtime to
// terminate the run.
func (s *Session) Run(ctx context.Context, inputs ...Tensor) ([]Tensor, error) {
	res := make([]Tensor, len(s.outputs))
	err := s.Visit(ctx, func(i int, t Tensor) error {
		res[i] = Tensor{Shape: t.Shape, Data: append([]float32(nil), t.Data...)}
		return nil
	}, inputs...)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Visit is Run that hands each output to fn, in order, where ONNX Runtime
// left it instead of copying it: t.Data is valid only during the call. A
// calibration run that reads a range off a hundred intermediate tensors
// should not copy them. An error from fn stops the visit and is returned.
func (s *Session) Visit(ctx context.Context, fn func(i int, t Tensor) error, inputs ...Tensor) error {
	outs := make([]ort.Value, len(s.outputs))
	defer destroy(outs)
	if err := s.run(ctx, inputs, outs); err != nil {
		return err
	}
	for i, v := range outs {
		t, ok := v.(*ort.Tensor[float32])
		if !ok {
			return fmt.Errorf("reading output %q: %w", s.outputs[i], ErrNotFloat32)
		}
		if err := fn(i, Tensor{Shape: t.GetShape().Clone(), Data: t.GetData()}); err != nil {
			return err
		}
	}
	return nil
}

// RunInto is Run with the outputs written into outs, one per model output
// with the shape the model will produce and Data of that size, which the
// caller may reuse. Run copies every output from ONNX Runtime's memory into
// a new slice, twice counting the Go binding's own copy: for a 6625-class
// recogniser that was two thirds of all bytes the engine allocated.
func (s *Session) RunInto(ctx context.Context, outs []Tensor, inputs ...Tensor) error {
	if len(outs) != len(s.outputs) {
		return fmt.Errorf("running %q: got %d outputs, model has %d", s.model, len(outs), len(s.outputs))
	}
	vals, err := values("output", s.outputs, outs)
	defer destroy(vals)
	if err != nil {
		return err
	}
	return s.run(ctx, inputs, vals)
}

// values wraps Go tensors, which ONNX Runtime then reads or writes in
// place, as kind ("input" or "output") named names.
func values(kind string, names []string, ts []Tensor) ([]ort.Value, error) {
	vals := make([]ort.Value, len(ts))
	for i, t := range ts {
		v, err := ort.NewTensor(ort.NewShape(t.Shape...), t.Data)
		if err != nil {
			return vals, fmt.Errorf("creating %s %q %v: %w", kind, names[i], t.Shape, err)
		}
		vals[i] = v
	}
	return vals, nil
}

func destroy(vals []ort.Value) {
	for _, v := range vals {
		if v != nil {
			_ = v.Destroy()
		}
	}
}

// run runs one session of the pool on inputs into outs; a nil value in outs
// is allocated by ONNX Runtime.
func (s *Session) run(ctx context.Context, inputs []Tensor, outs []ort.Value) error {
	if len(inputs) != len(s.inputs) {
		return fmt.Errorf("running %q: got %d inputs, model has %d", s.model, len(inputs), len(s.inputs))
	}
	var sess *ort.DynamicAdvancedSession
	select {
	case <-ctx.Done():
		return fmt.Errorf("waiting for session %q: %w", s.model, ctx.Err())
	case sess = <-s.free:
	}
	if sess == nil {
		return ErrClosed
	}
	defer func() { s.free <- sess }()

	ins, err := values("input", s.inputs, inputs)
	defer destroy(ins)
	if err != nil {
		return err
	}
	ro, err := ort.NewRunOptions()
	if err != nil {
		return fmt.Errorf("creating run options: %w", err)
	}
	defer ro.Destroy()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			_ = ro.Terminate()
		case <-done:
		}
	}()
	if err := sess.RunWithOptions(ins, outs, ro); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("running %q: %w", s.model, ctx.Err())
		}
		return fmt.Errorf("running %q: %w", s.model, err)
	}
	return nil
}

// Close destroys every session of the pool. It waits for running sessions to
// come back; Close is idempotent.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	all := s.all
	s.mu.Unlock()
	var errs []error
	for range all {
		sess := <-s.free
		if err := sess.Destroy(); err != nil {
			errs = append(errs, fmt.Errorf("destroying session %q: %w", s.model, err))
		}
	}
	close(s.free)
	return errors.Join(errs...)
}
