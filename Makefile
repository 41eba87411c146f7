# otelcol-cloudtrail: `make run` builds the collector and runs it on the default config;
# `make test` runs every test.
GO        ?= go
BUILD_DIR := _build
BINARY    := $(BUILD_DIR)/otelcol-cloudtrail
BENCHTIME ?= 2s

.PHONY: all test vet bench generate fmt
all: test

## test: go vet, then every test with the race detector (the fuzz seed corpora run as plain tests)
test: vet
	$(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...

## bench: every benchmark
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

## generate: regenerate mdatagen code of every component
generate:
	$(GO) generate ./receiver/... ./exporter/...

fmt:
	gofmt -w $$(git ls-files '*.go')
