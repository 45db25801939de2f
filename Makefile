# DocStrange Mesh. `make run` starts the embedded single node; `make test`
# runs every test and installs what the tests need.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

GO        ?= go
BIN       := bin
EDGE      := $(BIN)/docstrange-edge
CLI       := $(BIN)/docstrange
WORKER    := $(BIN)/docstrange-worker
SCHEDULER := $(BIN)/docstrange-scheduler
BENCH     := $(BIN)/docstrange-bench
OCRBENCH  := $(BIN)/docstrange-ocrbench
BACKENDS  := $(BIN)/backends
ONNX      := $(BACKENDS)/onnx
VERSION   := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    := $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
LDFLAGS   := -X 'github.com/caddyserver/caddy/v2.CustomVersion=docstrange-mesh $(VERSION) (commit $(COMMIT))'

export DOCSTRANGE_DATA_DIR ?= $(CURDIR)/.data
export DOCSTRANGE_HTTP_HOST ?= 127.0.0.1
export DOCSTRANGE_HTTP_PORT ?= 8080
export DOCSTRANGE_MODELS_DIR ?= $(CURDIR)/.cache/models
MODEL_FILES := $(addprefix $(DOCSTRANGE_MODELS_DIR)/,libonnxruntime.so.1 ch_PP-OCRv4_det_infer.onnx ch_PP-OCRv4_rec_infer.onnx ch_ppocr_mobile_v2.0_cls_infer.onnx ppocr_keys_v1.txt manifest.json)

GO_SOURCES := $(shell find . -name '*.go' -not -path './.data/*' 2>/dev/null) go.mod go.sum

.PHONY: all build cli run test hashistack cluster cluster-down test-go test-deps bench lint clean models

all: build

build: $(EDGE) $(ONNX) $(CLI) $(WORKER) $(SCHEDULER)

# The scheduler replicas (leader through a Consul lock).
$(SCHEDULER): $(GO_SOURCES)
	$(GO) build -ldflags "-X 'main.version=$(VERSION) (commit $(COMMIT))'" -o $@ ./edge/cmd/docstrange-scheduler

# The standalone worker process (one per Nomad allocation).
$(WORKER): $(GO_SOURCES)
	$(GO) build -ldflags "-X 'main.version=$(VERSION) (commit $(COMMIT))'" -o $@ ./edge/cmd/docstrange-worker

## cli: the docstrange command-line client (bin/docstrange)
cli: $(CLI)

$(CLI): $(GO_SOURCES)
	$(GO) build -ldflags "-X 'main.version=$(VERSION) (commit $(COMMIT))'" -o $@ ./edge/cmd/docstrange

$(EDGE): $(GO_SOURCES) edge/Caddyfile
	$(GO) build -ldflags "$(LDFLAGS)" -o $@ ./edge/cmd/docstrange-edge

# The OCR backend plugin; the edge's host starts it from $(BACKENDS).
$(ONNX): $(GO_SOURCES)
	@mkdir -p $(BACKENDS)
	$(GO) build -ldflags "-X 'main.version=$(VERSION) (commit $(COMMIT))'" -o $@ ./backends/onnx/cmd/docstrange-onnx

## models: ONNX Runtime and the PP-OCRv4 models into $(DOCSTRANGE_MODELS_DIR), hashes checked
models:
	./scripts/models.sh

$(MODEL_FILES) &:
	./scripts/models.sh

$(BENCH): $(GO_SOURCES)
	$(GO) build -ldflags "-X 'main.buildVersion=$(VERSION) (commit $(COMMIT))'" -o $@ ./edge/cmd/docstrange-bench

## run: the embedded single-node stack on http://$DOCSTRANGE_HTTP_HOST:$DOCSTRANGE_HTTP_PORT
run: $(EDGE) $(ONNX) $(MODEL_FILES)
	@mkdir -p "$(DOCSTRANGE_DATA_DIR)"
	@echo "DocStrange Mesh on http://$(DOCSTRANGE_HTTP_HOST):$(DOCSTRANGE_HTTP_PORT) (data in $(DOCSTRANGE_DATA_DIR))"
	DOCSTRANGE_BACKENDS_DIR=$${DOCSTRANGE_BACKENDS_DIR:-$(CURDIR)/$(BACKENDS)} exec $(EDGE) run --config edge/Caddyfile --adapter caddyfile

## test: lint, then every test with per-package coverage
test: test-deps $(MODEL_FILES) lint test-go

test-deps:
	@./scripts/test-deps.sh

test-go:
	./scripts/test.sh

$(OCRBENCH): $(GO_SOURCES)
	$(GO) build -ldflags "-X 'main.buildVersion=$(VERSION) (commit $(COMMIT))'" -o $@ ./edge/cmd/docstrange-ocrbench

## bench: API load against Caddy's static route, then OCR against Tesseract,
## then tus uploads against stock tusd, then a placement round of 1,000 jobs
## on 8 workers against FIFO first-fit (all in one run); every verdict is
## printed before the exit status.
bench: $(EDGE) $(BENCH) $(ONNX) $(OCRBENCH) $(MODEL_FILES)
	@rc=0; ./scripts/bench.sh || rc=$$?; ./scripts/ocrbench.sh || rc=$$?; \
	  ./scripts/uploadbench.sh || rc=$$?; \
	  $(GO) test -run '^$$' -bench BenchmarkPlace -benchtime 2000x ./scheduler/placement/ || rc=$$?; \
	  $(GO) test -run '^$$' -bench 'BenchmarkPlacementThroughput|BenchmarkSchedulingOverhead' -benchtime 3x ./scheduler/dispatch/ || rc=$$?; exit $$rc

## hashistack: Consul v1.16.3 and Nomad v1.6.3 (MPL-2.0) built into ~/.cache/docstrange/hashistack
hashistack:
	@./scripts/hashistack.sh path

## cluster: a local dev Consul and two Nomad nodes (cpu-1, gpu-1) on loopback; cluster-down stops them
cluster:
	@./scripts/cluster.sh up

cluster-down:
	@./scripts/cluster.sh down

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.data/*' -not -path './bin/*')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

clean:
	rm -rf $(BIN) .data
