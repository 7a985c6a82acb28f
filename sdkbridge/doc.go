// Package sdkbridge reports traces of Go agents instrumented with
// go.opentelemetry.io/otel to AgentOS as runs.
//
// A root span becomes a run (run/start, then run/complete or run/fail from
// its status); child spans and span events become the run's timeline
// events, in the order they happened, with occurred_at taken from the span
// and event timestamps. The Collector exporter shares the mapping.
//
// # Two ways in
//
// Exporter is a drop-in sdktrace.SpanExporter. Swap it for the exporter you
// use today:
//
//	exp, err := sdkbridge.NewExporter(ctx)
//	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
//
// It sees spans as they end, so it holds children until their root ends,
// then starts the run, sends the events and closes it.
//
// SpanProcessor is the live variant: it starts the run when the root span
// starts, so AgentOS shows it running while the agent works, and streams
// events as spans start and end:
//
//	sp, err := sdkbridge.NewSpanProcessor(ctx)
//	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
//
// Both take every Option. A ProcessorOption (WithQueueSize,
// WithMaxRunDuration) is for the SpanProcessor only; NewExporter refuses
// it with an error naming it.
//
// Neither blocks the instrumented program: requests are sent from
// background goroutines, one run's requests strictly in order, several runs
// in parallel. Memory is bounded (see Limits; the live processor's queue
// shares MaxBufferedBytes with the rest); what must be dropped is counted,
// logged and, with WithMeterProvider, reported as metrics.
//
// Shutdown flushes, then closes every run still open as failed, with an
// error message that says why, so no run is left "running" in AgentOS.
//
// # Configuration
//
// Options win over the environment, which wins over the defaults. The
// variables, the options that override them, and their defaults:
//
//	AGENTOS_API_KEY             WithAPIKey, WithAgentKeys  the agent key (aos_agent_…); required
//	AGENTOS_AGENT_ID            WithAgentID                the agent runs report to (a uuid); required
//	AGENTOS_ENDPOINT            WithEndpoint,              host[:port] (https://; http:// for loopback
//	                            WithEndpointURL            or with AGENTOS_INSECURE) or a base URL;
//	                                                       default https://agentos-ai.dev
//	AGENTOS_INSECURE            WithInsecure               true: plain http:// (see WithInsecure); default false
//	AGENTOS_TIMEOUT             WithTimeout                each attempt's bound, in milliseconds or
//	                                                       a duration such as 10s; default 30s
//	AGENTOS_CERTIFICATE         WithTLSClientConfig        PEM file of the CAs that verify AgentOS;
//	                                                       default the system's
//	AGENTOS_CLIENT_CERTIFICATE  WithTLSClientConfig        PEM files of a client certificate and its
//	AGENTOS_CLIENT_KEY                                     key, for mutual TLS; set both or neither
//
// The certificate variables configure the default client; WithHTTPClient
// or WithTLSClientConfig replaces them. There is no AGENTOS_HEADERS: the
// bridge sets Authorization and Content-Type itself, and WithHeaders adds
// others in code. With the first two set, NewExporter(ctx) needs no
// options. Missing or malformed settings fail at construction with an
// error naming the setting. A root span or its resource may name another
// agent with the attribute agentos.agent_id; its key is then looked up in
// WithAgentKeys.
//
// # Errors
//
// ForceFlush and Shutdown return a *DeliveryError when runs were not
// delivered since the previous call. Between those calls, delivery errors
// are logged to slog.Default() and handed to otel.Handle, the global error
// handler (otel.SetErrorHandler); with WithLogger they go only to that
// logger.
//
// # The live processor reads a span's start when it starts
//
// The SpanProcessor sends a span's start event when the span starts, so it
// reads the attributes present at Start (trace.WithAttributes). These must
// be set there, not later with SetAttributes:
//
//   - on a root span: agentos.agent_id, agentos.trigger_type,
//     agentos.external_run_id, agentos.run.input and what the run selector
//     reads (gen_ai.operation.name for InvokeAgentRoots); run/start is sent
//     at once, so later values are not part of it;
//   - on every span: what decides its type, gen_ai.operation.name,
//     openinference.span.kind, ai.operationId;
//   - what the start event shows: gen_ai.request.model, the prompt
//     (gen_ai.input.messages, input.value, …), gen_ai.tool.name and the
//     tool's arguments, gen_ai.agent.name.
//
// A span's type is decided once, at Start, and its two events always pair:
// llm.request then llm.response, tool.called then tool.returned or
// tool.failed, agent.started then agent.completed or agent.failed,
// step.started then step.completed or step.failed. A span typed only after
// Start (Google ADK Go sets gen_ai.operation.name=execute_tool on its
// "execute_tool (merged)" span at the end) is a step: step.started, then
// step.completed whose payload says what it turned out to be (span_type,
// and tool, agent or model) with all its attributes. Everything known at the
// end (outputs, token usage, status, span events) is read from the ended
// span. A span whose start was dropped gets both events at its end; a span
// whose end was not seen when its run closes gets a failed end event, so no
// event is left unpaired. The Exporter reads ended spans only, so it types
// spans by their final attributes.
//
// A live run whose root never ends is closed as failed after
// WithMaxRunDuration (1 h by default).
package sdkbridge
