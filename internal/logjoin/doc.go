// Package logjoin joins GenAI log records to their spans for both front
// ends: a record waits, keyed by trace and span id, until its span passes
// on its way to the run tracker, which then takes it as part of the span
// (spans.Span.AppendLogs). A record that comes after its span is handed to
// the tracker, which still attaches it while the span's events are not
// sent. What neither can place (its run's events sent, or its span not
// come within the wait) is reported as dropped, once per trace with the
// first report: never sent as a stray request.
package logjoin
