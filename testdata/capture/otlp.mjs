// Shared capture plumbing: a tracer provider with deterministic span and
// trace ids and an in-memory exporter, and a writer that turns the finished
// spans into a golden scenario (OTLP/JSON as the Collector reads it).
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { JsonLogsSerializer, JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { fileURLToPath } from "node:url";

// A virtual clock: every reading advances it by 1 ms. Span times then
// depend only on the order of the framework's work, not on the machine, so
// concurrent tool calls end in the same order on every capture.
// Span times come from both Date.now and performance.now.
let virtualNow = 0;
const epochMs = Date.now();
performance.now = () => ++virtualNow;
Date.now = () => epochMs + ++virtualNow;

// Sequential ids: re-capturing gives the same ids, so the golden diff shows
// only what the framework changed.
class SequentialIds {
  constructor() {
    this.trace = 0;
    this.span = 0;
  }
  generateTraceId() {
    this.trace++;
    return "c0ffee00" + this.trace.toString(16).padStart(24, "0");
  }
  generateSpanId() {
    this.span++;
    return this.span.toString(16).padStart(16, "0");
  }
}

export function newProvider(serviceName) {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    idGenerator: new SequentialIds(),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  provider.register();
  return { provider, exporter };
}

const BASE_NS = 1767268800000000000n; // 2026-01-01T12:00:00Z, the golden test's clock
const STEP_NS = 1000000n; // 1 ms

// Timestamps are the only normalisation: each distinct instant is replaced
// by BASE + rank × 1 ms, which keeps every span's order, ties and nesting
// but not wall-clock durations.
function normaliseTimes(doc, logs = {}) {
  const instants = new Set();
  const each = (fn) => {
    for (const rs of doc.resourceSpans ?? [])
      for (const ss of rs.scopeSpans ?? [])
        for (const sp of ss.spans ?? []) {
          fn(sp, "startTimeUnixNano");
          fn(sp, "endTimeUnixNano");
          for (const ev of sp.events ?? []) fn(ev, "timeUnixNano");
        }
    // Log records share the clock: their order against the spans is kept.
    for (const rl of logs.resourceLogs ?? [])
      for (const sl of rl.scopeLogs ?? [])
        for (const lr of sl.logRecords ?? []) {
          fn(lr, "timeUnixNano");
          fn(lr, "observedTimeUnixNano");
        }
  };
  each((o, k) => instants.add(BigInt(o[k])));
  const sorted = [...instants].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const rank = new Map(sorted.map((t, i) => [t, i]));
  each((o, k) => {
    o[k] = (BASE_NS + BigInt(rank.get(BigInt(o[k]))) * STEP_NS).toString();
  });
  // Measured durations in attributes (gen_ai.client.operation.duration,
  // gen_ai.execute_tool.duration, seconds) follow: the span's own duration.
  each((sp, k) => {
    if (k !== "endTimeUnixNano") return;
    const secs = Number(BigInt(sp.endTimeUnixNano) - BigInt(sp.startTimeUnixNano)) / 1e9;
    for (const a of sp.attributes ?? []) {
      if (a.key.endsWith(".duration") && "doubleValue" in a.value) a.value.doubleValue = secs;
    }
  });
  // Wall-clock texts (Strands' gen_ai.event.start_time / end_time, from
  // new Date(), which the virtual clock does not reach) follow too.
  const iso = (ns) => new Date(Number(BigInt(ns) / 1000000n)).toISOString();
  each((sp, k) => {
    if (k !== "endTimeUnixNano") return;
    for (const a of sp.attributes ?? []) {
      if (a.key === "gen_ai.event.start_time") a.value.stringValue = iso(sp.startTimeUnixNano);
      if (a.key === "gen_ai.event.end_time") a.value.stringValue = iso(sp.endTimeUnixNano);
    }
  });
}

// writeScenario prints the golden scenario: all spans in one batch, then
// time enough for every run's grace period to pass.
export async function writeScenario(provider, exporter, description, logs = null) {
  await provider.forceFlush();
  let logRecords = null;
  if (logs) {
    await logs.provider.forceFlush();
    logRecords = logs.exporter.getFinishedLogRecords();
  }
  writeSpans(exporter.getFinishedSpans(), description, { logRecords });
  await provider.shutdown();
}

// newLoggerProvider keeps log records in memory, as newProvider spans.
export function newLoggerProvider(serviceName) {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  return { provider, exporter };
}

// renumberIds makes random trace and span ids sequential, in order of
// first appearance, for an SDK that brings its own tracer provider.
function renumberIds(doc) {
  const traces = new Map();
  const spans = new Map();
  const id = (map, v, prefix, width) => {
    if (!v) return v;
    if (!map.has(v)) map.set(v, prefix + (map.size + 1).toString(16).padStart(width, "0"));
    return map.get(v);
  };
  for (const rs of doc.resourceSpans ?? [])
    for (const ss of rs.scopeSpans ?? [])
      for (const sp of ss.spans ?? []) {
        sp.traceId = id(traces, sp.traceId, "c0ffee00", 24);
        sp.spanId = id(spans, sp.spanId, "", 16);
      }
  for (const rs of doc.resourceSpans ?? [])
    for (const ss of rs.scopeSpans ?? [])
      for (const sp of ss.spans ?? []) if (sp.parentSpanId) sp.parentSpanId = id(spans, sp.parentSpanId, "", 16);
}

// writeSpans prints the golden scenario of finished spans; random ids are
// renumbered when asked.
// Log records, if any, come first, in a batch of their own: the order an
// SDK usually delivers them in (its log batches leave more often).
export function writeSpans(spans, description, { renumber = false, logRecords = null } = {}) {
  const doc = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)));
  if (renumber) renumberIds(doc);
  const logs = logRecords ? JSON.parse(new TextDecoder().decode(JsonLogsSerializer.serializeRequest(logRecords))) : {};
  normaliseTimes(doc, logs);
  const steps = [{ otlp: doc }, { advance: "3s" }];
  if (logRecords) steps.unshift({ otlp_logs: logs });
  const scenario = { description, options: {}, steps };
  // Stack traces name this directory: make them machine-independent.
  const here = new URL(".", import.meta.url);
  let text = JSON.stringify(scenario, null, 2)
    .replaceAll(here.href, "file:///capture/")
    .replaceAll(fileURLToPath(here), "/capture/");
  // Frameworks draw random and time-based UUIDs (message, run and
  // checkpoint ids): number them in order of first appearance.
  const uuids = new Map();
  text = text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (u) => {
    if (!uuids.has(u)) uuids.set(u, "00000000-0000-4000-8000-" + (uuids.size + 1).toString(16).padStart(12, "0"));
    return uuids.get(u);
  });
  process.stdout.write(text + "\n");
}
