package main

import (
	"time"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

// frontEnd is one way spans reach AgentOS.
type frontEnd string

const (
	exporterFE  frontEnd = "exporter"  // sdkbridge.NewExporter with WithBatcher
	processorFE frontEnd = "processor" // sdkbridge.NewSpanProcessor
	collectorFE frontEnd = "collector" // otelcol-agentos with the agentos exporter
	otlphttpFE  frontEnd = "otlphttp"  // the same build's otlphttp exporter, to a sink
)

var (
	ours        = []frontEnd{exporterFE, processorFE, collectorFE}
	oursAndPeer = []frontEnd{exporterFE, processorFE, collectorFE, otlphttpFE}
)

// scenario is one production condition, run through each of its front ends.
type scenario struct {
	name    string
	latency time.Duration      // before the server (or sink) handles each request
	faults  localserver.Faults // Latency is taken from latency
	outage  outage
	runs    int
	spans   int           // per run: the root and spans-1 children
	pace    time.Duration // the runs' starts are spread over it; 0: as fast as they go
	timeout time.Duration // the front end's HTTP client timeout; 0: its default
	// deadline, from the first span, after which the front end is shut
	// down and what did not arrive counts as lost or open.
	deadline time.Duration
	// strict scenarios fail the soak on any lost event, open run, run out
	// of order, duplicate or wrongly failed run; the others are reported
	// against relaxed rules (see verdict.relaxedOK).
	strict    bool
	frontEnds []frontEnd
	// config is the collector rows' pipeline in testdata/collector;
	// empty: basic.yaml (otlphttp.yaml for the peer).
	config string
	// batch, when positive, makes the load generator's batch span
	// processor export at most this many spans every few milliseconds:
	// about one OTLP request per run, as a busy service sends them.
	batch int
	// crash kills the collector with SIGKILL and restarts it on the same
	// storage and address; with tiers, the second tier.
	crash crash
	// tiers, when positive, runs the collector rows through the scale-out
	// layout: lb.yaml routing to this many agentos-tier.yaml collectors.
	tiers int
}

// crash is a kill -9 of the collector at `at` after the first span, and
// its restart `down` later.
type crash struct{ at, down time.Duration }

// outage makes AgentOS unreachable (connections refused) from `at` after
// the first span, for `lasts`.
type outage struct{ at, lasts time.Duration }

// The scenarios the latency and throughput comparisons read.
const (
	latency0     = "latency-0ms"
	latency50    = "latency-50ms"
	saturation0  = "saturation-0ms"
	saturation50 = "saturation-50ms"
)

// scenarios are the defaults; the whole table runs in about 20 minutes on
// 2 cores when every row hits its deadline.
var scenarios = []scenario{
	{name: latency0, runs: 1000, spans: 10, deadline: 60 * time.Second,
		strict: true, frontEnds: oursAndPeer},
	{name: latency50, latency: 50 * time.Millisecond, runs: 1000, spans: 10, deadline: 75 * time.Second,
		strict: true, frontEnds: oursAndPeer},
	// Throughput through the collector against the SDK exporter: enough
	// runs to saturate both (5 to 10 s each). The latency rows take under
	// a second, so the collector's figure there is mostly its fixed tail
	// after the last span (its grace period, 500 ms in basic.yaml, and
	// the tracker's tick, a quarter of that), which the SDK rows skip: their
	// Shutdown closes the runs at once.
	{name: saturation0, runs: 10000, spans: 10, deadline: 60 * time.Second,
		strict: true, frontEnds: []frontEnd{exporterFE, collectorFE}},
	{name: saturation50, latency: 50 * time.Millisecond, runs: 10000, spans: 10, deadline: 75 * time.Second,
		strict: true, frontEnds: []frontEnd{exporterFE, collectorFE}},
	{name: "outage-20s", outage: outage{at: 5 * time.Second, lasts: 20 * time.Second},
		runs: 600, spans: 10, pace: 30 * time.Second, deadline: 75 * time.Second,
		strict: true, frontEnds: ours},
	{name: "errors-30pct", faults: localserver.Faults{ErrorRate: 0.3, Seed: 1},
		runs: 2000, spans: 10, deadline: 45 * time.Second,
		strict: true, frontEnds: ours},
	{name: "rate-limit", faults: localserver.Faults{RequestsPerSecond: 50},
		runs: 500, spans: 10, deadline: 60 * time.Second,
		strict: true, frontEnds: []frontEnd{exporterFE, collectorFE}},
	// Requests are applied, then answered after 300 ms: the client's 200 ms
	// timeout leaves it unsure whether they took effect.
	{name: "slow-300ms", faults: localserver.Faults{ResponseDelay: 300 * time.Millisecond}, timeout: 200 * time.Millisecond,
		runs: 40, spans: 10, deadline: 20 * time.Second,
		strict: false, frontEnds: ours},
	// One process sends 20,000 runs as fast as it can, children in
	// batches before their root: nothing may reorder them on the way to
	// the tracker, or children arrive after their run closed.
	{name: "burst-20k", runs: 20000, spans: 9, deadline: 150 * time.Second,
		strict: true, frontEnds: []frontEnd{collectorFE}},
	// kill -9 while the receiver acknowledges about 200 runs a second,
	// one OTLP request each: what it acknowledged must arrive, once.
	{name: "kill-while-ingesting", runs: 3000, spans: 9, pace: 15 * time.Second, batch: 9,
		crash: crash{at: 7 * time.Second, down: 2 * time.Second}, config: "persistent-queue.yaml",
		deadline: 90 * time.Second, strict: true, frontEnds: []frontEnd{collectorFE}},
	// kill -9 while hundreds of run/starts have been applied and not yet
	// answered: after the restart they are sent again (the API has no
	// idempotency key), so those runs may be recorded twice, and each of
	// them must be named in the collector's log.
	{name: "kill-slow-agentos", faults: localserver.Faults{ResponseDelay: 200 * time.Millisecond},
		runs: 3000, spans: 9, crash: crash{at: 4 * time.Second, down: 2 * time.Second}, config: "persistent-queue.yaml",
		deadline: 90 * time.Second, strict: false, frontEnds: []frontEnd{collectorFE}},
	// A router and three tiers; one tier is killed under 250 runs a
	// second and comes back 10 s later: the router keeps what it did not
	// take, the tier what it took.
	{name: "tier-death", runs: 5000, spans: 9, pace: 20 * time.Second, batch: 9, tiers: 3,
		crash:    crash{at: 5 * time.Second, down: 10 * time.Second},
		deadline: 120 * time.Second, strict: true, frontEnds: []frontEnd{collectorFE}},
}
