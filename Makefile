# The README's two commands are `go run ./examples/agent` and `make test`.
GO      ?= go
FUZZTIME ?= 60s

.PHONY: run test tools lint unit fuzz e2e collector generate bench soak

run:
	$(GO) run ./examples/agent

# Everything CI checks: formatting, vet, unit tests with the race detector
# (fuzz seed corpora included), then the end-to-end collector tests.
test: tools lint unit e2e

# What the tests need beyond Go: headless Chromium for the dev server's page
# test (installed from Debian's packages when missing; nothing otherwise).
tools:
	bash .ci/install-chromium

lint:
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzMapping -fuzztime $(FUZZTIME) ./internal/runtracker
	$(GO) test -run '^$$' -fuzz FuzzCompactJSON -fuzztime $(FUZZTIME) ./internal/mapping

# Builds the collectors with the Collector Builder (installed into .e2e/),
# then runs the end-to-end tests against them; see e2e/run.sh.
e2e:
	bash e2e/run.sh

# Only builds otelcol-agentos and the load-balancing tier into .e2e/.
collector:
	bash e2e/run.sh build

# Regenerates the exporter's metadata code and README status table with
# mdatagen (pinned in tools/go.mod).
generate:
	cd exporter/agentosexporter && $(GO) generate ./...

# Our costs next to the peers' (otlptracehttp, BatchSpanProcessor, otlphttp),
# measured side by side in one run, then the tracker's own figures.
BENCHTIME ?= 2s
bench:
	@mkdir -p .e2e
	@{ $(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./bench/ && \
	   $(GO) test -run '^$$' -bench 'TrackerMapping|MemoryPerOpenRun' -benchmem -benchtime $(BENCHTIME) ./internal/runtracker/; } \
	   | tee .e2e/bench.txt | $(GO) run ./bench/benchtable

# Production conditions (latency, 503s, a rate limit, a 20 s outage, a
# server slower than the client's timeout) through each front end and a
# built collector (built if missing), checked from the local AgentOS
# server's state; exits 1 if a run was lost, left open, reordered or
# duplicated. Bounded by per-row deadlines: at most about 12 minutes on
# 2 cores. Not part of `make test`. Scale up with SOAK_FLAGS, for example
# SOAK_FLAGS='-scale 5 -deadline-scale 5' or SOAK_FLAGS='-only outage'.
SOAK_FLAGS ?=
soak:
	$(GO) run ./soak $(SOAK_FLAGS)
