# Elide build entry points. `make demo` and `make test` each install what is missing first.
ELIDE_HOME ?= $(HOME)/.cache/elide
export ELIDE_HOME
SWIFT ?= swift
BUILD_FLAGS ?= -c release
BIN = .build/release

.PHONY: deps assets build test demo bench format format-check proto clean

deps:
	scripts/install-deps

assets: deps
	scripts/fetch-assets

build: deps
	$(SWIFT) build $(BUILD_FLAGS)

test: assets
	scripts/check-format
	$(SWIFT) build $(BUILD_FLAGS)
	$(SWIFT) test $(BUILD_FLAGS) -Xswiftc -enable-testing --disable-xctest

demo: assets build
	scripts/demo

bench: assets build
	scripts/bench

format:
	$(SWIFT) format --in-place --recursive --parallel Package.swift Sources Tests Benchmarks

format-check:
	scripts/check-format

proto:
	scripts/generate-proto

clean:
	rm -rf .build
