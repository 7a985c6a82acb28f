package agentosexporter

import (
	"context"
	"errors"
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
	"github.com/agentos-ai/agentos-otel/internal/logjoin"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
)

// newLogJoin is the buffer where GenAI log records wait for their span
// (internal/logjoin); records after their span go to late. Dropped records
// are counted on dropped and logged once per trace.
func newLogJoin(maxWait time.Duration, logger *zap.Logger, dropped metric.Int64Counter, late func([]logjoin.Record) []logjoin.Record) *logjoin.Buffer {
	if maxWait <= 0 {
		maxWait = runtracker.DefaultMaxWait
	}
	return logjoin.New(maxWait, func(d logjoin.Drop) {
		if dropped != nil {
			dropped.Add(context.Background(), int64(d.Records), metric.WithAttributes(attribute.String("reason", d.Reason)))
		}
		if d.First {
			logger.Warn("GenAI log records not attached to their span",
				zap.String("trace_id", d.TraceID.String()), zap.String("reason", d.Reason), zap.Int("records", d.Records))
		}
	}, late)
}

// consumeLogs holds the GenAI records of ld for their spans.
func (e *tracesExporter) consumeLogs(_ context.Context, ld plog.Logs) error {
	if e.p == nil || e.logs == nil {
		return errors.New("agentos exporter: not started")
	}
	if recs := pdataspans.LogRecords(ld); len(recs) > 0 {
		e.logs.Add(time.Now(), recs)
	}
	return nil
}

// createLogs makes the logs side of the exporter: the same instance as the
// traces side of the same configuration. Logs are only held here, no I/O,
// so they bypass the sending queue: a record reaches the buffer before a
// span batch taken after it, which a second queue would not promise.
func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	exp := sharedFor(cfg.(*Config), set)
	exp.joinsLogs = true // read at start, which comes after every create
	return exporterhelper.NewLogs(ctx, set, cfg, exp.consumeLogs,
		exporterhelper.WithStart(exp.start),
		exporterhelper.WithShutdown(exp.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}))
}
