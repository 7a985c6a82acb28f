package agentosexporter

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/agentos-ai/agentos-otel/exporter/agentosexporter/internal/pdataspans"
	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// Why a GenAI log record was not attached to its span.
const (
	logDropAfterSpan = "after_span" // its span had already been taken
	logDropOrphan    = "orphan"     // its span did not come within max_wait
	logDropFull      = "buffer_full"
	logDropNoSpan    = "no_span_id" // not correlated to a span
)

// Bounds of the log buffer: held records, and spans remembered as taken
// (so that a record arriving after its span is told apart from one whose
// span is still to come).
const (
	maxHeldLogRecords = 1 << 16
	maxTakenSpans     = 1 << 16
	maxLoggedTraces   = 1 << 12
)

type spanKey struct {
	trace spans.TraceID
	span  spans.SpanID
}

type heldLogs struct {
	first  time.Time // when the first record came: the hold starts then
	events []spans.Event
}

// logBuffer holds GenAI log records until their span passes through the
// traces path, which attaches them (spans.Span.Logs); the tracker then
// treats them as part of the span, so they land on its run in order. The
// usual case: SDKs emit a span's logs while it is open, and a log batch
// leaves before the span's. A record whose span has already passed, or
// whose span does not come within maxWait, is counted and logged once per
// trace: never sent as a stray request.
type logBuffer struct {
	maxWait time.Duration
	logger  *zap.Logger
	dropped metric.Int64Counter // nil: not counted (tests)

	mu        sync.Mutex
	held      map[spanKey]*heldLogs
	nHeld     int
	taken     map[spanKey]struct{}
	takenFIFO []spanKey
	logged    map[spans.TraceID]struct{}
	counts    map[string]int64
}

func newLogBuffer(maxWait time.Duration, logger *zap.Logger, dropped metric.Int64Counter) *logBuffer {
	if maxWait <= 0 {
		maxWait = runtracker.DefaultMaxWait
	}
	return &logBuffer{maxWait: maxWait, logger: logger, dropped: dropped,
		held: map[spanKey]*heldLogs{}, taken: map[spanKey]struct{}{}, logged: map[spans.TraceID]struct{}{},
		counts: map[string]int64{}}
}

// add holds the GenAI records of ld for their spans.
func (b *logBuffer) add(ctx context.Context, now time.Time, ld plog.Logs) {
	b.mu.Lock()
	defer b.mu.Unlock()
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				b.addRecord(ctx, now, lrs.At(k))
			}
		}
	}
	b.expire(ctx, now)
}

func (b *logBuffer) addRecord(ctx context.Context, now time.Time, lr plog.LogRecord) {
	at := lr.Timestamp().AsTime()
	if lr.Timestamp() == 0 {
		at = lr.ObservedTimestamp().AsTime()
	}
	ev, ok := mapping.LogEvent(lr.EventName(), at, pdataspans.Attrs(lr.Attributes()), pdataspans.Value(lr.Body()))
	if !ok {
		return // not a GenAI event: not AgentOS content
	}
	key := spanKey{trace: spans.TraceID(lr.TraceID()), span: spans.SpanID(lr.SpanID())}
	switch {
	case !key.trace.IsValid() || !key.span.IsValid():
		b.drop(ctx, key.trace, logDropNoSpan, 1)
		return
	case b.isTaken(key):
		b.drop(ctx, key.trace, logDropAfterSpan, 1)
		return
	case b.nHeld >= maxHeldLogRecords:
		b.drop(ctx, key.trace, logDropFull, 1)
		return
	}
	h := b.held[key]
	if h == nil {
		h = &heldLogs{first: now}
		b.held[key] = h
	}
	h.events = append(h.events, ev)
	b.nHeld++
}

func (b *logBuffer) isTaken(k spanKey) bool {
	_, ok := b.taken[k]
	return ok
}

// attach gives each span of batch the records held for it, in their time
// order, and remembers the spans as taken.
func (b *logBuffer) attach(ctx context.Context, now time.Time, batch []spans.Span) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range batch {
		s := &batch[i]
		k := spanKey{trace: s.TraceID, span: s.SpanID}
		if h, ok := b.held[k]; ok {
			sortEvents(h.events)
			s.Logs = append(s.Logs, h.events...)
			b.nHeld -= len(h.events)
			delete(b.held, k)
		}
		b.markTaken(k)
	}
	b.expire(ctx, now)
}

// detach undoes attach for a batch the pipeline refused, so that its
// records wait for the batch's retry.
func (b *logBuffer) detach(batch []spans.Span) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range batch {
		s := &batch[i]
		k := spanKey{trace: s.TraceID, span: s.SpanID}
		delete(b.taken, k) // its FIFO entry stays; deleting twice is harmless
		if len(s.Logs) == 0 {
			continue
		}
		b.held[k] = &heldLogs{first: s.Logs[0].Time, events: s.Logs}
		b.nHeld += len(s.Logs)
		s.Logs = nil
	}
}

func (b *logBuffer) markTaken(k spanKey) {
	if _, ok := b.taken[k]; ok {
		return
	}
	if len(b.takenFIFO) >= maxTakenSpans {
		delete(b.taken, b.takenFIFO[0])
		b.takenFIFO = b.takenFIFO[1:]
	}
	b.taken[k] = struct{}{}
	b.takenFIFO = append(b.takenFIFO, k)
}

// expire drops the records whose span did not come within maxWait.
func (b *logBuffer) expire(ctx context.Context, now time.Time) {
	for k, h := range b.held {
		if now.Sub(h.first) >= b.maxWait {
			b.drop(ctx, k.trace, logDropOrphan, len(h.events))
			b.nHeld -= len(h.events)
			delete(b.held, k)
		}
	}
}

// close drops whatever is still held, at shutdown.
func (b *logBuffer) close(ctx context.Context) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, h := range b.held {
		b.drop(ctx, k.trace, logDropOrphan, len(h.events))
		delete(b.held, k)
	}
	b.nHeld = 0
}

// drop counts n records and logs one line per trace (bounded: past the
// bound, the counter alone reports).
func (b *logBuffer) drop(ctx context.Context, trace spans.TraceID, reason string, n int) {
	b.counts[reason] += int64(n)
	if b.dropped != nil {
		b.dropped.Add(ctx, int64(n), metric.WithAttributes(attribute.String("reason", reason)))
	}
	if _, seen := b.logged[trace]; seen || len(b.logged) >= maxLoggedTraces {
		return
	}
	b.logged[trace] = struct{}{}
	b.logger.Warn("GenAI log records not attached to their span",
		zap.String("trace_id", trace.String()), zap.String("reason", reason), zap.Int("records", n))
}

// dropCounts reports the records dropped so far, by reason.
func (b *logBuffer) dropCounts() map[string]int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]int64, len(b.counts))
	for k, v := range b.counts {
		out[k] = v
	}
	return out
}

// sortEvents orders records by time, keeping arrival order for ties.
func sortEvents(evs []spans.Event) {
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && evs[j].Time.Before(evs[j-1].Time); j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
}

// consumeLogs holds the GenAI records of ld for their spans.
func (e *tracesExporter) consumeLogs(ctx context.Context, ld plog.Logs) error {
	if e.p == nil || e.logs == nil {
		return errors.New("agentos exporter: not started")
	}
	e.logs.add(ctx, time.Now(), ld)
	return nil
}

// createLogs makes the logs side of the exporter: the same instance as the
// traces side of the same configuration. Logs are only held here, no I/O,
// so they bypass the sending queue: a record reaches the buffer before a
// span batch taken after it, which a second queue would not promise.
func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	exp := sharedFor(cfg.(*Config), set)
	return exporterhelper.NewLogs(ctx, set, cfg, exp.consumeLogs,
		exporterhelper.WithStart(exp.start),
		exporterhelper.WithShutdown(exp.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}))
}
