// Package sdkbridge reports traces of Go agents instrumented with
// go.opentelemetry.io/otel to AgentOS as runs.
//
// A root span becomes a run (run/start, then run/complete or run/fail from
// its status); child spans and span events become the run's timeline
// events, in the order they happened, with occurred_at taken from the span
// and event timestamps. ../shared/SPEC.md in the project describes the
// mapping; the Collector exporter shares it.
//
// Two ways in:
//
//   - Exporter, a drop-in sdktrace.SpanExporter. Swap it for the exporter
//     you use today:
//
//     exp, err := sdkbridge.NewExporter(ctx)
//     tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
//
//     It sees spans as they end, so it holds children until their root ends,
//     then starts the run, sends the events and closes it.
//
//   - SpanProcessor, the live variant: it starts the run when the root span
//     starts, so AgentOS shows it running while the agent works, and streams
//     events as spans start and end:
//
//     sp, err := sdkbridge.NewSpanProcessor(ctx)
//     tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
//
// Neither blocks the instrumented program: requests are sent from
// background goroutines, one run's requests strictly in order, several runs
// in parallel. Memory is bounded (see Limits); what must be dropped is
// counted and, with WithMeterProvider, reported as metrics.
//
// # Configuration
//
// Options win over the environment, which wins over the defaults:
//
//	AGENTOS_API_KEY   the agent key (aos_agent_…)               WithAPIKey, WithAgentKeys
//	AGENTOS_AGENT_ID  the agent runs report to (a uuid)         WithAgentID
//	AGENTOS_ENDPOINT  host[:port] (https, http for loopback)     WithEndpoint, WithEndpointURL
//	                  or a base URL, default https://agentos-ai.dev
//
// With those three set, NewExporter(ctx) needs no options. Missing or
// malformed settings fail at construction with an error naming the setting.
// A root span or its resource may name another agent with the attribute
// agentos.agent_id; its key is then looked up in WithAgentKeys.
//
// Shutdown flushes, then closes every run still open as failed, with an
// error message that says why, so no run is left "running" in AgentOS.
package sdkbridge
