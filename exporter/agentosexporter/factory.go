package agentosexporter

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/agentos-ai/agentos-otel/exporter/agentosexporter/internal/metadata"
	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/delivery"
	"github.com/agentos-ai/agentos-otel/internal/ingest"
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
	client.Timeout = ingest.DefaultTimeout
	// One idle connection per run in flight, so that connections are
	// reused instead of opened for every request.
	keepalive := confighttp.NewDefaultKeepaliveClientConfig()
	keepalive.MaxIdleConns = delivery.DefaultConcurrency
	keepalive.MaxIdleConnsPerHost = delivery.DefaultConcurrency
	client.Keepalive = configoptional.Some(keepalive)
	// A request that fits goes out in one write (headers and body);
	// typical events bodies are 5 to 30 KB.
	client.WriteBufferSize = 32 << 10
	return &Config{
		ClientConfig:    client,
		QueueConfig:     configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		RetryConfig:     configretry.NewDefaultBackOffConfig(),
		RequestRetry:    defaultRequestRetry(),
		TriggerType:     TriggerType(agentosapi.TriggerSDK),
		RunSelector:     RunSelectorConfig{Mode: RunSelectorMode(mapping.SelectAll)},
		MinLevel:        Level(agentosapi.LevelDebug),
		MaxStringLength: mapping.DefaultMaxStringLen,
		Concurrency:     delivery.DefaultConcurrency,
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
		// Consuming only hands spans to the run tracker, and fails only
		// when a bound refuses a batch whole; the ingest client retries
		// each request itself (request_retry). So a retry here offers a
		// refused batch again, and never re-sends spans already tracked.
		exporterhelper.WithRetry(c.RetryConfig),
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		exporterhelper.WithQueue(c.QueueConfig),
	)
}

// defaultRequestRetry is the SDK bridge's policy, so both front ends retry
// requests alike. It starts at 500 ms rather than configretry's 5 s: a 5 s
// pause after every 503 would leave runs waiting far longer than AgentOS
// needs to recover.
func defaultRequestRetry() configretry.BackOffConfig {
	p := ingest.DefaultRetryPolicy()
	return configretry.BackOffConfig{
		Enabled:             p.Enabled,
		InitialInterval:     p.InitialInterval,
		RandomizationFactor: p.RandomizationFactor,
		Multiplier:          p.Multiplier,
		MaxInterval:         p.MaxInterval,
		MaxElapsedTime:      p.MaxElapsedTime,
	}
}
