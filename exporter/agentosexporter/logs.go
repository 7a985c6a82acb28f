package agentosexporter

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/agentos-ai/agentos-otel/exporter/agentosexporter/internal/pdataspans"
	"github.com/agentos-ai/agentos-otel/internal/logjoin"
	"github.com/agentos-ai/agentos-otel/internal/pipeline"
)

// logDropReporter counts GenAI log records not joined to their span on
// dropped and logs them once per trace.
func logDropReporter(logger *zap.Logger, dropped metric.Int64Counter) func(logjoin.Drop) {
	return func(d logjoin.Drop) {
		if dropped != nil {
			dropped.Add(context.Background(), int64(d.Records), metric.WithAttributes(attribute.String("reason", d.Reason)))
		}
		if d.First {
			logger.Warn("GenAI log records not attached to their span",
				zap.String("trace_id", d.TraceID.String()), zap.String("reason", d.Reason), zap.Int("records", d.Records))
		}
	}
}

// consumeLogs hands the GenAI records of ld to the pipeline, which holds
// them for their spans (stored first, with storage). At the memory bound
// it returns a retryable error, as consume does.
func (e *tracesExporter) consumeLogs(ctx context.Context, ld plog.Logs) error {
	if e.p == nil {
		return errors.New("agentos exporter: not started")
	}
	err := e.p.ConsumeLogs(ctx, pdataspans.LogRecords(ld))
	if errors.Is(err, pipeline.ErrShutdown) {
		return consumererror.NewPermanent(err)
	}
	return err
}

// createLogs makes the logs side of the exporter: the same instance as the
// traces side of the same configuration. Records are only held here (and
// stored first with storage), never sent, so they bypass the sending
// queue: a record reaches the pipeline before a span batch taken after
// it, which a second queue would not promise.
func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	exp := sharedFor(cfg.(*Config), set)
	exp.joinsLogs = true // read at start, which comes after every create
	return exporterhelper.NewLogs(ctx, set, cfg, exp.consumeLogs,
		exporterhelper.WithStart(exp.start),
		exporterhelper.WithShutdown(exp.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}))
}
