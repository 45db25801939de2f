package plugins_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/docstrange/mesh/plugins"
)

// fakeBackend is an in-memory Backend for the contract tests.
type fakeBackend struct {
	info   plugins.Info
	health plugins.Health

	mu         sync.Mutex
	apiVersion string
	// started is signalled when Process starts; cancelled when Process
	// sees its ctx end.
	started   chan struct{}
	cancelled chan struct{}
}

func (f *fakeBackend) Info(context.Context) (plugins.Info, error)     { return f.info, nil }
func (f *fakeBackend) Health(context.Context) (plugins.Health, error) { return f.health, nil }

func (f *fakeBackend) SetAPIVersion(v string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.apiVersion = v
}

func (f *fakeBackend) Process(ctx context.Context, req *plugins.ProcessRequest, emit func(plugins.ItemResult) error) error {
	switch req.Task {
	case plugins.TaskOCRRecognize:
		for _, it := range req.Items {
			r := plugins.ItemResult{
				ItemID: it.ID,
				Lines: []plugins.Line{{
					Text:       fmt.Sprintf("%s %dx%d %v", it.ID, it.Image.Width, it.Image.Height, req.Options.Languages),
					Box:        plugins.Quad{{X: 1, Y: 2}, {X: 3, Y: 2}, {X: 3, Y: 4}, {X: 1, Y: 4}},
					Confidence: 0.5,
				}},
				Timings: plugins.Timings{Queue: time.Millisecond, Inference: 2 * time.Millisecond},
			}
			if it.Crop != nil {
				r.Lines[0].Box = *it.Crop
			}
			if len(it.Image.Data) == 0 {
				r = plugins.ItemResult{ItemID: it.ID, Err: &plugins.ItemError{Code: plugins.CodeInvalidImage, Message: "empty"}}
			}
			if err := emit(r); err != nil {
				return err
			}
		}
		return nil
	case "block":
		close(f.started)
		<-ctx.Done()
		close(f.cancelled)
		return ctx.Err()
	default:
		return fmt.Errorf("%w: %q", plugins.ErrUnsupportedTask, req.Task)
	}
}

// connect serves impl in process and returns the host side.
func connect(t *testing.T, impl plugins.Backend) *plugins.GRPCClient {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, plugins.PluginMap(impl))
	// Close shuts the server down too, through go-plugin's controller;
	// stopping it here as well would race with that.
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(plugins.PluginName)
	if err != nil {
		t.Fatalf("dispensing: %v", err)
	}
	c, ok := raw.(*plugins.GRPCClient)
	if !ok {
		t.Fatalf("dispensed %T", raw)
	}
	return c
}

func testInfo() plugins.Info {
	return plugins.Info{
		Name:        "fake",
		Version:     "v1.2.3",
		Tasks:       []string{plugins.TaskOCRDetect, plugins.TaskOCRRecognize},
		APIVersions: []string{"v1", "v1.1"},
		Providers:   plugins.Providers{Requested: []string{"cuda", "cpu"}, Active: []string{"cpu"}, Reason: "cuda: libcudart.so.12 not found"},
		Models:      []plugins.Model{{Name: "det", Version: "3", SHA256: "ab"}, {Name: "rec", Version: "4", SHA256: "cd"}},
		Session:     plugins.Session{IntraOpThreads: 4, InterOpThreads: 1, GraphOptimization: "all", MaxBatchSize: 16, Extra: map[string]string{"arena": "on"}},
	}
}

func TestContractInfoHealth(t *testing.T) {
	impl := &fakeBackend{info: testInfo(), health: plugins.Health{Status: plugins.HealthDegraded, Detail: "on cpu"}}
	c := connect(t, impl)
	ctx := t.Context()
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(info, testInfo()) {
		t.Errorf("Info = %+v, want %+v", info, testInfo())
	}
	h, err := c.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h != impl.health {
		t.Errorf("Health = %+v, want %+v", h, impl.health)
	}
}

func TestContractInfoDefaultsAPIVersions(t *testing.T) {
	c := connect(t, &fakeBackend{info: plugins.Info{Name: "bare"}})
	info, err := c.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(info.APIVersions, plugins.SupportedAPIVersions()) {
		t.Errorf("APIVersions = %v, want the package's %v", info.APIVersions, plugins.SupportedAPIVersions())
	}
}

func TestContractProcess(t *testing.T) {
	c := connect(t, &fakeBackend{info: testInfo()})
	crop := plugins.Quad{{X: 10, Y: 10}, {X: 20, Y: 10}, {X: 20, Y: 20}, {X: 10, Y: 20}}
	req := &plugins.ProcessRequest{
		Task: plugins.TaskOCRRecognize,
		Items: []plugins.Item{
			{ID: "a", Image: plugins.Image{Format: plugins.ImageRGBA, Data: make([]byte, 2*3*4), Width: 2, Height: 3}},
			{ID: "b", Image: plugins.Image{Format: plugins.ImagePNG, Data: []byte{1}, Width: 5, Height: 6}, Crop: &crop},
			{ID: "c", Image: plugins.Image{Format: plugins.ImagePNG}},
		},
		Options: plugins.Options{Languages: []string{"en", "de"}, MaxDetections: 7, MinConfidence: 0.3, Extra: map[string]string{"k": "v"}},
	}
	var got []plugins.ItemResult
	err := c.Process(t.Context(), req, func(r plugins.ItemResult) error {
		got = append(got, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []plugins.ItemResult{
		{ItemID: "a", Lines: []plugins.Line{{Text: "a 2x3 [en de]", Box: plugins.Quad{{X: 1, Y: 2}, {X: 3, Y: 2}, {X: 3, Y: 4}, {X: 1, Y: 4}}, Confidence: 0.5}},
			Timings: plugins.Timings{Queue: time.Millisecond, Inference: 2 * time.Millisecond}},
		{ItemID: "b", Lines: []plugins.Line{{Text: "b 5x6 [en de]", Box: crop, Confidence: 0.5}},
			Timings: plugins.Timings{Queue: time.Millisecond, Inference: 2 * time.Millisecond}},
		{ItemID: "c", Err: &plugins.ItemError{Code: plugins.CodeInvalidImage, Message: "empty"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("results:\n got %+v\nwant %+v", got, want)
	}
}

func TestContractProcessErrors(t *testing.T) {
	c := connect(t, &fakeBackend{info: testInfo()})
	items := []plugins.Item{{ID: "a", Image: plugins.Image{Data: []byte{1}}}, {ID: "b", Image: plugins.Image{Data: []byte{1}}}}
	errStop := errors.New("stop")
	tests := []struct {
		name    string
		task    string
		emitErr error
		want    error
		emitted int
	}{
		{name: "unsupported task", task: "layout", want: plugins.ErrUnsupportedTask},
		{name: "emit error stops the stream", task: plugins.TaskOCRRecognize, emitErr: errStop, want: errStop, emitted: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var emitted int
			err := c.Process(t.Context(), &plugins.ProcessRequest{Task: tt.task, Items: items}, func(plugins.ItemResult) error {
				emitted++
				return tt.emitErr
			})
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if emitted != tt.emitted {
				t.Errorf("emitted %d, want %d", emitted, tt.emitted)
			}
		})
	}
}

func TestContractProcessCancelAbortsBackend(t *testing.T) {
	impl := &fakeBackend{info: testInfo(), started: make(chan struct{}), cancelled: make(chan struct{})}
	c := connect(t, impl)
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		errc <- c.Process(ctx, &plugins.ProcessRequest{Task: "block"}, func(plugins.ItemResult) error { return nil })
	}()
	select {
	case <-impl.started:
	case <-time.After(5 * time.Second):
		t.Fatal("backend never started")
	}
	cancelled := time.Now()
	cancel()
	select {
	case <-impl.cancelled:
		t.Logf("backend saw cancellation after %s", time.Since(cancelled))
	case <-time.After(2 * time.Second):
		t.Fatal("backend still working 2s after cancel")
	}
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Process err = %v, want context.Canceled", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Process did not return after cancel")
	}
}

func TestContractNegotiate(t *testing.T) {
	tests := []struct {
		name   string
		host   []string
		plugin []string
		want   string
		errMsg string
	}{
		{name: "highest common", host: []string{"v1", "v1.1"}, plugin: []string{"v1.1", "v1", "v1.2"}, want: "v1.1"},
		{name: "host older", host: []string{"v1"}, plugin: []string{"v1", "v1.1"}, want: "v1"},
		{name: "none in common", host: []string{"v1"}, plugin: []string{"v2"},
			errMsg: "no common backend API version: host supports [v1], plugin supports [v2]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := testInfo()
			info.APIVersions = tt.plugin
			impl := &fakeBackend{info: info}
			c := connect(t, impl)
			got, err := c.Negotiate(t.Context(), tt.host)
			if tt.errMsg != "" {
				if err == nil || err.Error() != tt.errMsg || !errors.Is(err, plugins.ErrNoCommonAPIVersion) {
					t.Fatalf("err = %v, want %q", err, tt.errMsg)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Negotiate = %q, %v; want %q", got, err, tt.want)
			}
			impl.mu.Lock()
			defer impl.mu.Unlock()
			if impl.apiVersion != tt.want {
				t.Errorf("plugin was told %q, want %q", impl.apiVersion, tt.want)
			}
		})
	}
}
