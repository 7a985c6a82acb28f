// Package pipeline assembles the core every front end hands its spans to:
// the mapping, the run tracker, delivery through the ingest client, a ticker
// that drives the tracker's timeouts, and self-telemetry. Front ends convert
// their span type and configuration, then call ConsumeSpans.
package pipeline
