# status-ingest: build, quick start, tests.
SWIFT ?= swift
BINARY := .build/release/status-ingest

.PHONY: all deps deps-test build run test check-deploy bench clean

all: build

deps:
	@scripts/install-deps.sh

deps-test:
	@scripts/install-deps.sh --test

build: deps
	$(SWIFT) build -c release --product status-ingest

# The quick start: an embedded broker, a fresh SQLite store and the sample in samples/quickstart.
run: build
	$(BINARY) demo --sample samples/quickstart

# The whole test suite against a throw-away PostgreSQL server and librdkafka's mock cluster.
test: deps-test check-deploy
	scripts/with-postgres.sh $(SWIFT) test --disable-swift-testing

# The deploy files (Dockerfile, compose, Kubernetes) checked offline: no Docker engine or cluster needed.
check-deploy:
	scripts/check-deploy.sh

# Throughput, latency and memory against this machine's own limits (several minutes; see BENCHMARKS.md).
bench:
	scripts/bench.sh

clean:
	rm -rf .build var
