# DocStrange Mesh. `make run` starts the embedded single node; `make test`
# runs every test and installs what the tests need.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

GO        ?= go
BIN       := bin
EDGE      := $(BIN)/docstrange-edge
BENCH     := $(BIN)/docstrange-bench
VERSION   := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    := $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
LDFLAGS   := -X 'github.com/caddyserver/caddy/v2.CustomVersion=docstrange-mesh $(VERSION) (commit $(COMMIT))'

export DOCSTRANGE_DATA_DIR ?= $(CURDIR)/.data
export DOCSTRANGE_HTTP_HOST ?= 127.0.0.1
export DOCSTRANGE_HTTP_PORT ?= 8080

GO_SOURCES := $(shell find . -name '*.go' -not -path './.data/*' 2>/dev/null) go.mod go.sum

.PHONY: all build run test test-go test-deps bench lint clean

all: build

build: $(EDGE)

$(EDGE): $(GO_SOURCES) edge/Caddyfile
	$(GO) build -ldflags "$(LDFLAGS)" -o $@ ./edge/cmd/docstrange-edge

$(BENCH): $(GO_SOURCES)
	$(GO) build -ldflags "-X 'main.buildVersion=$(VERSION) (commit $(COMMIT))'" -o $@ ./edge/cmd/docstrange-bench

## run: the embedded single-node stack on http://$DOCSTRANGE_HTTP_HOST:$DOCSTRANGE_HTTP_PORT
run: $(EDGE)
	@mkdir -p "$(DOCSTRANGE_DATA_DIR)"
	@echo "DocStrange Mesh on http://$(DOCSTRANGE_HTTP_HOST):$(DOCSTRANGE_HTTP_PORT) (data in $(DOCSTRANGE_DATA_DIR))"
	exec $(EDGE) run --config edge/Caddyfile --adapter caddyfile

## test: lint, then every test with per-package coverage
test: test-deps lint test-go

test-deps:
	@./scripts/test-deps.sh

test-go:
	./scripts/test.sh

## bench: load against a running edge; ratios against Caddy's static route
bench: $(EDGE) $(BENCH)
	./scripts/bench.sh

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.data/*' -not -path './bin/*')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

clean:
	rm -rf $(BIN) .data
