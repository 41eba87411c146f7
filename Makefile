# otelcol-cloudtrail: `make run` builds the collector and runs it on the default config;
# `make test` runs every test.
GO        ?= go
GOFMT     ?= $(shell $(GO) env GOROOT)/bin/gofmt
BUILD_DIR := _build
BINARY    := $(BUILD_DIR)/otelcol-cloudtrail
BENCHTIME ?= 2s

.PHONY: all test vet bench generate fmt
all: test

## test: gofmt and go vet, then every test with the race detector (the fuzz seed corpora run as plain tests)
test: vet
	$(GO) test -race -count=1 ./...

vet:
	@unformatted=$$($(GOFMT) -l $$(git ls-files '*.go')); \
		if [ -n "$$unformatted" ]; then echo "not gofmt-formatted (make fmt):"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

## bench: every benchmark
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

## generate: regenerate mdatagen code of every component
generate:
	$(GO) generate ./receiver/... ./exporter/...

fmt:
	$(GOFMT) -w $$(git ls-files '*.go')

# --- The distribution --------------------------------------------------------------------------
# ocb (pinned in go.mod as a tool) generates the sources in $(BUILD_DIR) and compiles the
# collector there. The binary is rebuilt only when its inputs changed: go.mod/go.sum,
# builder-config.yaml or a Go source of the components (test files, test tooling and the e2e
# tests excluded). Go's build cache keeps a rebuild after a small change at about 20 s.
BUILD_INPUTS := builder-config.yaml go.mod go.sum \
	$(shell find receiver exporter internal -name '*.go' ! -name '*_test.go' \
		! -path 'internal/e2e/*' ! -path 'internal/cmd/*' ! -path 'internal/replay/*' 2>/dev/null)
COLLECTOR_CONFIG ?= collector-config.yaml
# make run uses this key when FIREHOSE_ACCESS_KEY is not set (the receiver listens on localhost).
DEV_ACCESS_KEY   ?= otelcol-cloudtrail-dev-key
REPLAY_URL       ?= http://localhost:4433/
FILES            ?=
ARGS             ?=

.PHONY: build run replay e2e

## build: the collector binary $(BINARY), when out of date
build: $(BINARY)

$(BINARY): $(BUILD_INPUTS)
	$(GO) tool builder --config builder-config.yaml
	@touch $@

## run: build if needed, then run the collector on $(COLLECTOR_CONFIG)
run: $(BINARY)
	@if [ -z "$$FIREHOSE_ACCESS_KEY" ]; then \
		echo "FIREHOSE_ACCESS_KEY is not set; using the development key: $(DEV_ACCESS_KEY)"; \
		export FIREHOSE_ACCESS_KEY='$(DEV_ACCESS_KEY)'; \
	fi; \
	exec ./$(BINARY) --config $(COLLECTOR_CONFIG)

## replay: send the events of FILES to a running collector, as Firehose does
##   make replay FILES='testdata/cloudtrail/panther-analysis-cloudtrail.ndjson' [REPLAY_URL=...] [ARGS='-wrap bare -gzip']
replay:
	@if [ -z "$(strip $(FILES)$(ARGS))" ]; then \
		echo "usage: make replay FILES='file-or-dir ...' [REPLAY_URL=$(REPLAY_URL)] [ARGS='firehose-replay flags']"; \
		echo "       (FIREHOSE_ACCESS_KEY defaults to make run's development key)"; exit 2; \
	fi
	@FIREHOSE_ACCESS_KEY="$${FIREHOSE_ACCESS_KEY:-$(DEV_ACCESS_KEY)}" \
		$(GO) run ./internal/cmd/firehose-replay -url $(REPLAY_URL) $(ARGS) $(FILES)

## e2e: only the end-to-end tests (make test runs them too)
e2e: $(BINARY)
	$(GO) test -race -count=1 ./internal/e2e/...
