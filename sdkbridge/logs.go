package sdkbridge

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/agentos-ai/agentos-otel/internal/logjoin"
	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// logJoin is where a Go agent's GenAI log records wait for their span: the
// trace side (Exporter or SpanProcessor) attaches them as the span passes.
type logJoin struct {
	buf     *logjoin.Buffer
	dropped atomic.Int64
	// used is set once a LogExporter exists: until then no record can
	// wait, and spans skip the buffer (its lock and its passed-span
	// bookkeeping cost about 5 % of a span's CPU).
	used atomic.Bool
}

// attach gives the batch's spans their records, once records can exist.
func (j *logJoin) attach(batch []spans.Span) {
	if j.used.Load() {
		j.buf.Attach(time.Now(), batch)
	}
}

// attachOne is attach for one span.
func (j *logJoin) attachOne(s *spans.Span) {
	if j.used.Load() {
		j.buf.AttachOne(time.Now(), s)
	}
}

// detach undoes attach.
func (j *logJoin) detach(batch []spans.Span) {
	if j.used.Load() {
		j.buf.Detach(batch)
	}
}

// exporter returns a LogExporter feeding j.
func (j *logJoin) exporter() sdklog.Exporter {
	j.used.Store(true)
	return &logExporter{j: j}
}

func newLogJoin(c config) *logJoin {
	log := c.logger
	if log == nil {
		log = slog.Default()
	}
	wait := c.timing.MaxWait
	if wait <= 0 {
		wait = runtracker.DefaultMaxWait
	}
	j := &logJoin{}
	j.buf = logjoin.New(wait, func(d logjoin.Drop) {
		j.dropped.Add(int64(d.Records))
		if d.First {
			log.Warn("agentos: GenAI log records not attached to their span",
				"trace_id", d.TraceID.String(), "reason", d.Reason, "records", d.Records)
		}
	})
	return j
}

// LogExporter returns an sdklog.Exporter for the agent's GenAI log records
// (event names gen_ai.*, such as gen_ai.user.message and gen_ai.choice):
// each joins its span, by trace and span id, and becomes that span's
// content in this Exporter's runs, after what its attributes and span
// events carry. Use it with sdklog.NewSimpleProcessor, or a batch
// processor that exports before the trace side does: a record that comes
// after its span, or whose span does not come within the timing's
// MaxWait, is counted (DroppedLogRecords) and logged once per trace.
// Other records are ignored. Spans are only remembered for records once a
// LogExporter exists: make it before tracing starts (a record for a span
// that passed earlier is dropped after MaxWait, not at once).
func (e *Exporter) LogExporter() sdklog.Exporter { return e.logs.exporter() }

// LogExporter is Exporter.LogExporter for the live processor: a record
// joins its span at the span's end, so what only records carry of a
// request (the prompt) goes into the end event.
func (sp *SpanProcessor) LogExporter() sdklog.Exporter { return sp.logs.exporter() }

// DroppedLogRecords reports the GenAI log records not attached to a span.
func (e *Exporter) DroppedLogRecords() int64 { return e.logs.dropped.Load() }

// DroppedLogRecords reports the GenAI log records not attached to a span.
func (sp *SpanProcessor) DroppedLogRecords() int64 { return sp.logs.dropped.Load() }

type logExporter struct {
	j       *logJoin
	stopped atomic.Bool
}

var _ sdklog.Exporter = (*logExporter)(nil)

// Export holds the GenAI records for their spans; it does no I/O. The SDK
// reuses records after the call: nothing of them is kept but copies.
func (l *logExporter) Export(ctx context.Context, records []sdklog.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if l.stopped.Load() {
		return ErrShutdown
	}
	var out []logjoin.Record
	for i := range records {
		r := &records[i]
		at := r.Timestamp()
		if at.IsZero() {
			at = r.ObservedTimestamp()
		}
		kvs := make([]attribute.KeyValue, 0, r.AttributesLen())
		r.WalkAttributes(func(kv attribute.KeyValue) bool { kvs = append(kvs, kv); return true })
		ev, ok := mapping.LogEvent(r.EventName(), at, attrs(kvs), value(r.Body()))
		if !ok {
			continue
		}
		out = append(out, logjoin.Record{TraceID: spans.TraceID(r.TraceID()), SpanID: spans.SpanID(r.SpanID()), Event: ev})
	}
	if len(out) > 0 {
		l.j.buf.Add(time.Now(), out)
	}
	return nil
}

// Shutdown stops taking records; the trace side's Shutdown drops what
// still waits.
func (l *logExporter) Shutdown(context.Context) error {
	l.stopped.Store(true)
	return nil
}

func (l *logExporter) ForceFlush(context.Context) error { return nil }
