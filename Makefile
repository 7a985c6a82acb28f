# The README's two commands are `go run ./examples/agent` and `make test`.
GO      ?= go
FUZZTIME ?= 60s

.PHONY: run test lint unit fuzz e2e collector generate bench

run:
	$(GO) run ./examples/agent

# Everything CI checks: formatting, vet, unit tests with the race detector
# (fuzz seed corpora included), then the end-to-end collector tests.
test: lint unit e2e

lint:
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzMapping -fuzztime $(FUZZTIME) ./internal/runtracker

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
