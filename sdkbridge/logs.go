package sdkbridge

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/agentos-ai/agentos-otel/internal/logjoin"
	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/pipeline"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// logJoin is the trace side's (Exporter or SpanProcessor) GenAI log
// records: the pipeline joins them to their spans once a LogExporter is
// asked for.
type logJoin struct {
	p       *pipeline.Pipeline
	report  func(logjoin.Drop)
	dropped atomic.Int64
	joining sync.Once
}

func newLogJoin(c config, p *pipeline.Pipeline) *logJoin {
	log := c.logger
	if log == nil {
		log = slog.Default()
	}
	j := &logJoin{p: p}
	j.report = func(d logjoin.Drop) {
		j.dropped.Add(int64(d.Records))
		if d.First {
			log.Warn("agentos: GenAI log records not attached to their span",
				"trace_id", d.TraceID.String(), "reason", d.Reason, "records", d.Records)
		}
	}
	return j
}

func (j *logJoin) exporter() sdklog.Exporter {
	j.joining.Do(func() { j.p.JoinLogs(j.report) })
	return &logExporter{j: j}
}

// LogExporter returns an sdklog.Exporter for the agent's GenAI log records
// (event names gen_ai.*, such as gen_ai.user.message and gen_ai.choice):
// each joins its span, by trace and span id, and becomes that span's
// content in this Exporter's runs, after what its attributes and span
// events carry. A record that comes after its span still joins it until
// the run's events are sent (the grace period after the root); one that
// comes later still, or whose span does not come within the timing's
// MaxWait, is counted (DroppedLogRecords) and logged once per trace. Use
// it with sdklog.NewSimpleProcessor, or a batch processor that exports at
// least as often as the trace side. Other records are ignored. Spans are
// joined to records only once the LogExporter exists, so make it before
// tracing starts: until then spans cost nothing for it, and a record for
// a span that passed before waits MaxWait for it in vain.
func (e *Exporter) LogExporter() sdklog.Exporter { return e.logs.exporter() }

// LogExporter is Exporter.LogExporter for the live processor: a record
// joins its span at the span's end, so what only records carry of a
// request (the prompt) goes into the end event. A record that comes after
// the span's end is counted, as the end event has been sent.
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
	return l.j.p.ConsumeLogs(ctx, out)
}

// Shutdown stops taking records; the trace side's Shutdown counts what
// still waits for its span.
func (l *logExporter) Shutdown(context.Context) error {
	l.stopped.Store(true)
	return nil
}

func (l *logExporter) ForceFlush(context.Context) error { return nil }
