// Command soak runs the bridge under production conditions and checks,
// from the AgentOS side, that nothing was lost, left open, reordered or
// duplicated. `make soak` runs it; it is not part of `make test`.
//
// It starts the strict local AgentOS server (internal/localserver) in
// process, then, for each scenario of the table in scenarios.go (latency,
// throughput at saturation through the collector and the SDK exporter,
// injected 503s, a rate limit, a 20 s outage, a server slower than the
// client's timeout, a burst of 20,000 runs through one collector, a kill -9
// of a crash-safe collector while it ingests, with AgentOS answering at once
// and after 200 ms, the death of one of three tiers behind a router), drives a stream of agent runs through each front end:
//
//	exporter   sdkbridge.NewExporter behind the SDK's batch span processor
//	processor  sdkbridge.NewSpanProcessor, the live processor
//	collector  a built otelcol-agentos (testdata/collector/basic.yaml) fed
//	           over OTLP/HTTP
//	otlphttp   the same collector build with the core otlphttp exporter
//	           (testdata/collector/otlphttp.yaml) to an OTLP sink in this
//	           process answering after the same latency: the peer's figures
//
// The SDK front ends and the OTLP load run in child processes (this binary
// re-executed with -role load), so peak RSS and CPU time are per front end;
// for the collector rows they are the collector's. Every run has a trace id
// the soak chose, so each expected run is looked up on the server by its
// external_run_id: its records (more than one is a duplicate), its status
// (running is open), its events against the expected timeline (lost,
// duplicated, out of order) and the requests it took. Delivered spans/s is
// the spans divided by the time from the first span produced to the last
// run closed on the server.
//
// Each row has a deadline: then the front end is shut down and whatever did
// not arrive counts as lost or open. The soak exits 1 if any strict
// scenario breaks an invariant. Flags scale the runs and deadlines and
// select scenarios and front ends; see -help.
package main
