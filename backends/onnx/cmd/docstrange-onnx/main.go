// Command docstrange-onnx is the ONNX Runtime OCR backend: a go-plugin
// process that the edge's backend host starts. Configuration comes from the
// environment, which the host passes through:
//
//	DOCSTRANGE_MODELS_DIR       model manifest and files (default .cache/models)
//	DOCSTRANGE_ONNX_PROVIDER    cpu | cuda | tensorrt (default cpu)
//	DOCSTRANGE_ONNX_DEVICE_ID   GPU ordinal (default 0)
//	DOCSTRANGE_ONNX_TRT_FP16    1 to let TensorRT build fp16 engines
//	DOCSTRANGE_ONNX_TRT_CACHE   TensorRT engine cache folder
//	DOCSTRANGE_ONNX_THREADS     intra-op threads (default: ONNX Runtime's)
//	DOCSTRANGE_ONNX_POOL        sessions per model (default 1)
//	DOCSTRANGE_ONNX_DET_LIMIT   detection long-side limit (default 960)
//	DOCSTRANGE_ONNX_BATCH       recognition batch size (default 1 on CPU, 32 on GPU)
//	DOCSTRANGE_ONNX_BATCH_WAIT  recognition batch wait (default 5ms)
//	DOCSTRANGE_ONNX_GRAPH_REWRITE  0 to load the models without graphopt's rewrite
//	DOCSTRANGE_ONNX_REC_SESSIONS   one-thread recognition sessions on CPU (default: pool × threads)
//	DOCSTRANGE_ONNX_REC_PRECISION  int8 | fp32: the recogniser's arithmetic on CPU (default int8)
//	DOCSTRANGE_ONNX_DET_PRECISION  int8 | fp32: the detector's arithmetic on CPU (default int8)
//	GOGC                        the Go collector's target (default 400, see main)
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/docstrange/mesh/backends/onnx/ocr"
	"github.com/docstrange/mesh/backends/onnx/server"
	"github.com/docstrange/mesh/plugins"
)

// version is set by `make` through -ldflags -X.
var version = "dev"

// gcPercent is the backend's GOGC unless the environment sets one.
const gcPercent = 400

func main() {
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "docstrange-onnx %s: the ONNX Runtime OCR backend plugin.\n"+
			"It is started by the DocStrange edge's backend host, not by hand;\n"+
			"see the package documentation for its environment variables.\n", version)
		flag.PrintDefaults()
	}
	flag.Parse()
	if *showVersion {
		fmt.Println("docstrange-onnx", version)
		return
	}
	// The backend's live Go heap is small, since ONNX Runtime keeps the
	// models in C memory, while every page allocates tens of megabytes of
	// short-lived buffers (the page as received and decoded, the
	// detector's input, line crops). At the default GOGC the collector ran
	// several times a page: the OCR bench read a page through the plugin
	// about 110 ms (8-15%) slower than in process, and 4 ms slower at 400.
	// GOGC in the environment still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	log := plugins.NewPluginLogger(os.Stderr, slog.LevelInfo)
	cfg, err := configFromEnv()
	if err != nil {
		log.Error("reading configuration", "error", err)
		os.Exit(2)
	}
	engine, err := ocr.NewEngine(context.Background(), cfg)
	if err != nil {
		log.Error("loading models", "error", err)
		os.Exit(1)
	}
	defer engine.Close()
	if p := engine.Info().Provider; p.Fallback() {
		log.Warn("execution provider fell back", "requested", p.Requested, "active", p.Active, "reason", p.Reason)
	}
	go exitWithParent(log)
	plugin.Serve(plugins.ServeConfig(server.New(engine, cfg, version)))
}

// exitWithParent ends the backend when the host process that started it is
// gone (killed with -9, say): go-plugin does not, and an orphaned backend
// would hold its models' memory and CPU threads forever. Polling the parent
// pid works on every Unix, unlike Linux's parent-death signal, which fires
// when the parent's forking thread exits rather than the process.
func exitWithParent(log *slog.Logger) {
	parent := os.Getppid()
	for range time.Tick(time.Second) {
		if os.Getppid() != parent {
			log.Error("host process is gone; exiting", "parent_pid", parent)
			os.Exit(3)
		}
	}
}

func configFromEnv() (ocr.Config, error) {
	var cfg ocr.Config
	cfg.ModelDir = os.Getenv("DOCSTRANGE_MODELS_DIR")
	cfg.Runtime.Provider = os.Getenv("DOCSTRANGE_ONNX_PROVIDER")
	cfg.Runtime.TensorRTFP16 = os.Getenv("DOCSTRANGE_ONNX_TRT_FP16") == "1"
	cfg.Runtime.TensorRTEngineCacheDir = os.Getenv("DOCSTRANGE_ONNX_TRT_CACHE")
	cfg.RecPrecision = os.Getenv("DOCSTRANGE_ONNX_REC_PRECISION")
	cfg.DetPrecision = os.Getenv("DOCSTRANGE_ONNX_DET_PRECISION")
	ints := []struct {
		env string
		dst *int
	}{
		{"DOCSTRANGE_ONNX_DEVICE_ID", &cfg.Runtime.DeviceID},
		{"DOCSTRANGE_ONNX_THREADS", &cfg.Runtime.IntraOpThreads},
		{"DOCSTRANGE_ONNX_POOL", &cfg.Runtime.PoolSize},
		{"DOCSTRANGE_ONNX_DET_LIMIT", &cfg.DetLimitSideLen},
		{"DOCSTRANGE_ONNX_BATCH", &cfg.MaxBatchSize},
		{"DOCSTRANGE_ONNX_REC_SESSIONS", &cfg.RecSessions},
	}
	for _, v := range ints {
		raw := os.Getenv(v.env)
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil {
			return cfg, fmt.Errorf("%s=%q: %w", v.env, raw, err)
		}
		*v.dst = n
	}
	switch raw := os.Getenv("DOCSTRANGE_ONNX_GRAPH_REWRITE"); raw {
	case "", "1":
	case "0":
		cfg.NoGraphRewrite = true
	default:
		return cfg, fmt.Errorf("DOCSTRANGE_ONNX_GRAPH_REWRITE=%q: want 0 or 1", raw)
	}
	if raw := os.Getenv("DOCSTRANGE_ONNX_BATCH_WAIT"); raw != "" {
		d, err := time.ParseDuration(raw)
		if err != nil {
			return cfg, fmt.Errorf("DOCSTRANGE_ONNX_BATCH_WAIT=%q: %w", raw, err)
		}
		cfg.MaxBatchWait = d
	}
	return cfg, nil
}
