package agentosexporter

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/agentos-ai/agentos-otel/exporter/agentosexporter/internal/metadata"
	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/mapping"
)

// NewFactory returns the factory of the agentos exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithTraces(createTraces, metadata.TracesStability),
	)
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Endpoint = agentosapi.DefaultBaseURL
	client.Timeout = 30 * time.Second
	return &Config{
		ClientConfig:    client,
		QueueConfig:     configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		RetryConfig:     configretry.NewDefaultBackOffConfig(),
		TriggerType:     agentosapi.TriggerSDK,
		RunSelector:     RunSelectorConfig{Mode: string(mapping.SelectAll)},
		MinLevel:        agentosapi.LevelDebug,
		MaxStringLength: mapping.DefaultMaxStringLen,
		Concurrency:     4,
		Limits:          defaultLimits(),
		Timing:          defaultTiming(),
	}
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	c := cfg.(*Config)
	exp := newTracesExporter(c, set)
	return exporterhelper.NewTraces(ctx, set, cfg, exp.consume,
		exporterhelper.WithStart(exp.start),
		exporterhelper.WithShutdown(exp.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		// Consuming only hands spans to the run tracker; the ingest client
		// retries each request itself (retry_on_failure), because a retry
		// of a whole batch here would re-send spans already tracked and
		// could not keep each run's requests in order.
		exporterhelper.WithRetry(configretry.BackOffConfig{Enabled: false}),
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		exporterhelper.WithQueue(c.QueueConfig),
	)
}
