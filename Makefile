# The README's two commands are `go run ./examples/agent` and `make test`.
GO      ?= go
FUZZTIME ?= 60s

.PHONY: run test tools lint unit tidy fuzz e2e collector collector-lb generate bench soak

# The Go modules of this repository: the core and SDK bridge (no Collector
# dependency), the Collector exporter, and the benchmarks (which need both).
MODULES := . exporter/agentosexporter bench

run:
	$(GO) run ./examples/agent

# Everything CI checks: formatting, vet and tidy go.mod files, unit tests
# with the race detector (fuzz seed corpora included) in every module, then
# the end-to-end collector tests.
test: tools lint unit e2e

# What the tests need beyond Go: headless Chromium for the dev server's page
# test (installed from Debian's packages when missing; nothing otherwise).
tools:
	bash .ci/install-chromium

lint:
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	@set -e; for m in $(MODULES); do echo "vet $$m"; (cd $$m && $(GO) vet ./... && $(GO) mod tidy -diff); done

unit:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) test -race -count=1 ./...); done

# Rewrites every module's go.mod and go.sum.
tidy:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) mod tidy); done

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzMapping -fuzztime $(FUZZTIME) ./internal/runtracker
	$(GO) test -run '^$$' -fuzz FuzzCompactJSON -fuzztime $(FUZZTIME) ./internal/agentosapi
	$(GO) test -run '^$$' -fuzz FuzzAppendEvent -fuzztime $(FUZZTIME) ./internal/agentosapi
	$(GO) test -run '^$$' -fuzz FuzzAppendRequests -fuzztime $(FUZZTIME) ./internal/agentosapi
	$(GO) test -run '^$$' -fuzz FuzzSuccessData -fuzztime $(FUZZTIME) ./internal/ingest
	$(GO) test -run '^$$' -fuzz FuzzDecodeSpans -fuzztime $(FUZZTIME) ./internal/journal
	$(GO) test -run '^$$' -fuzz FuzzStoredEvent -fuzztime $(FUZZTIME) ./internal/localserver

# Builds the collectors with the Collector Builder (installed into .e2e/),
# then runs the end-to-end tests against them; see e2e/run.sh.
e2e:
	bash e2e/run.sh

# Only builds otelcol-agentos and the load-balancing tier into .e2e/.
collector:
	bash e2e/run.sh build

# Only builds the router of the scale-out layout (lb.yaml),
# .e2e/otelcol-agentos-lb/otelcol-agentos-lb, with the Collector Builder
# v0.161.0 (testdata/collector/builder-lb.yaml says why that release).
collector-lb:
	bash e2e/run.sh build-lb

# Regenerates the exporter's metadata code and README status table with
# mdatagen (pinned in tools/go.mod).
generate:
	cd exporter/agentosexporter && $(GO) generate ./...

# Our costs next to the peers' (otlptracehttp, BatchSpanProcessor, otlphttp,
# and the SDK exporter for the Collector exporter) and a minimal client's,
# in alternating rounds of one process (process CPU per span first), the
# SDK exporter's scaling, then the tracker's own figures. About 5 minutes
# on 2 cores.
BENCHTIME ?= 2s
# The Collector exporter's rounds wait for its 250 ms tick: its table
# against the SDK exporter needs longer for 5 rounds after the first.
COLLECTOR_BENCHTIME ?= 6s
bench:
	@mkdir -p .e2e
	@{ (cd bench && $(GO) test -run '^$$' -bench . -skip CollectorVsSDK -benchmem -benchtime $(BENCHTIME) . && \
	    $(GO) test -run '^$$' -bench CollectorVsSDK -benchmem -benchtime $(COLLECTOR_BENCHTIME) .) && \
	   $(GO) test -run '^$$' -bench 'TrackerMapping|MemoryPerOpenRun' -benchmem -benchtime $(BENCHTIME) ./internal/runtracker/ && \
	   $(GO) test -run '^$$' -bench 'MemoryPerOpenRun' -benchtime 1x ./sdkbridge/; } \
	   | tee .e2e/bench.txt | (cd bench && $(GO) run ./benchtable)

# Production conditions (latency, 503s, a rate limit, a 20 s outage, a
# server slower than the client's timeout) through each front end and a
# built collector (built if missing), checked from the local AgentOS
# server's state; exits 1 if a run was lost, left open, reordered or
# duplicated. Bounded by per-row deadlines: at most about 20 minutes on
# 2 cores. Not part of `make test`. Scale up with SOAK_FLAGS, for example
# SOAK_FLAGS='-scale 5 -deadline-scale 5' or SOAK_FLAGS='-only outage'.
SOAK_FLAGS ?=
soak:
	$(GO) run ./soak $(SOAK_FLAGS)
