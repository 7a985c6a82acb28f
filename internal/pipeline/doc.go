// Package pipeline assembles the core every front end hands its spans to:
// the mapping, the run tracker, delivery through the ingest client, a ticker
// that drives the tracker's timeouts, and self-telemetry. Front ends convert
// their span type and configuration, then call ConsumeSpans with ended
// spans (the SDK Exporter and the Collector exporter) or Live with span
// starts and ends (the live SpanProcessor); Flush and Shutdown report the
// runs that were not delivered.
//
// With a Journal (the Collector's storage extension), the pipeline is
// crash-safe: accepted spans and the progress of open runs are stored in
// it, and the next New resumes them; a run whose run/start was in flight
// at the crash is reported as one AgentOS may hold rather than started
// twice (see durable.go).
package pipeline
