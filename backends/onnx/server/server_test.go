package server

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-plugin"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/docstrange/mesh/backends/onnx/internal/modeltest"
	"github.com/docstrange/mesh/backends/onnx/ocr"
	"github.com/docstrange/mesh/backends/onnx/ort"
	"github.com/docstrange/mesh/plugins"
)

var (
	engineOnce sync.Once
	engine     *ocr.Engine
	engineErr  error
	engineCfg  = ocr.Config{Runtime: ort.Config{Provider: ort.ProviderCUDA}}
)

// backend connects to a Server over real gRPC in process. It asks for CUDA,
// which this machine lacks, so Health must say degraded.
func backend(t *testing.T) plugins.Backend {
	t.Helper()
	m := modeltest.Manifest(t)
	engineOnce.Do(func() {
		cfg := engineCfg
		cfg.ModelDir = m.Dir
		engine, engineErr = ocr.NewEngine(context.Background(), cfg)
	})
	if engineErr != nil {
		t.Fatal(engineErr)
	}
	client, _ := plugin.TestPluginGRPCConn(t, true, plugins.PluginMap(New(engine, engineCfg, "test")))
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(plugins.PluginName)
	if err != nil {
		t.Fatal(err)
	}
	return raw.(plugins.Backend)
}

func textPNG(t *testing.T, text string) []byte {
	t.Helper()
	var b bytes.Buffer
	png.Encode(&b, textGray(text))
	return b.Bytes()
}

func textGray(text string) *image.Gray {
	f, _ := opentype.Parse(goregular.TTF)
	face, _ := opentype.NewFace(f, &opentype.FaceOptions{Size: 32, DPI: 72})
	img := image.NewGray(image.Rect(0, 0, 900, 120))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	(&font.Drawer{Dst: img, Src: image.NewUniform(color.Black), Face: face, Dot: fixed.P(40, 75)}).DrawString(text)
	return img
}

// TestProcess reads good items, PNG and raw gray, with English as the
// language (the engine's Latin classes), and refuses bad ones.
func TestProcess(t *testing.T) {
	b := backend(t)
	ctx := context.Background()
	req := &plugins.ProcessRequest{Task: plugins.TaskOCRRecognize, Items: []plugins.Item{
		{ID: "good", Image: plugins.Image{Format: plugins.ImagePNG, Data: textPNG(t, "Plugins read text")}},
		{ID: "gray", Image: plugins.WireImage(textGray("Gray pages travel light"))},
		{ID: "short-rgba", Image: plugins.Image{Format: plugins.ImageRGBA, Data: make([]byte, 10), Width: 10, Height: 10}},
		{ID: "short-gray", Image: plugins.Image{Format: plugins.ImageGray, Data: make([]byte, 99), Width: 10, Height: 10}},
		{ID: "not-png", Image: plugins.Image{Format: plugins.ImagePNG, Data: []byte("nope")}},
	}, Options: plugins.Options{Languages: []string{"en"}}}
	got := map[string]plugins.ItemResult{}
	var mu sync.Mutex
	err := b.Process(ctx, req, func(r plugins.ItemResult) error {
		mu.Lock()
		defer mu.Unlock()
		got[r.ItemID] = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(req.Items) {
		t.Fatalf("results for %d items, want %d", len(got), len(req.Items))
	}
	good := got["good"]
	if good.Err != nil || len(good.Lines) != 1 || !strings.Contains(good.Lines[0].Text, "read text") {
		t.Fatalf("good item: %+v", good)
	}
	if g := got["gray"]; req.Items[1].Image.Format != plugins.ImageGray || g.Err != nil || len(g.Lines) != 1 || !strings.Contains(g.Lines[0].Text, "travel light") {
		t.Fatalf("gray item (%v): %+v", req.Items[1].Image.Format, g)
	}
	for _, id := range []string{"short-rgba", "short-gray", "not-png"} {
		if e := got[id].Err; e == nil || e.Code != plugins.CodeInvalidImage {
			t.Errorf("%s: %+v, want invalid_image", id, got[id])
		}
	}
}

func TestUnsupportedTaskAndCancel(t *testing.T) {
	b := backend(t)
	err := b.Process(context.Background(), &plugins.ProcessRequest{Task: plugins.TaskLayout}, func(plugins.ItemResult) error { return nil })
	if !errors.Is(err, plugins.ErrUnsupportedTask) {
		t.Fatalf("layout task: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = b.Process(ctx, &plugins.ProcessRequest{Task: plugins.TaskOCRRecognize, Items: []plugins.Item{
		{ID: "x", Image: plugins.Image{Format: plugins.ImagePNG, Data: textPNG(t, "never read")}},
	}}, func(plugins.ItemResult) error { return nil })
	if err == nil {
		t.Fatal("cancelled call succeeded")
	}
}

func TestInfoAndHealthReportFallback(t *testing.T) {
	b := backend(t)
	info, err := b.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != Name || info.Version != "test" || len(info.Models) < 2 || info.Providers.Requested[0] != "cuda" || info.Providers.Active[0] != "cpu" || info.Providers.Reason == "" {
		t.Fatalf("info: %+v", info)
	}
	if cs := info.Session.Extra["charsets"]; !strings.HasPrefix(cs, "all:6625,latin:") {
		t.Errorf("charsets %q, want the whole dictionary and the Latin classes", cs)
	}
	h, err := b.Health(context.Background())
	if err != nil || h.Status != plugins.HealthDegraded || !strings.Contains(h.Detail, "cuda") {
		t.Fatalf("health: %+v %v", h, err)
	}
}
