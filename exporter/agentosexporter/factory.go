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
		exporter.WithLogs(createLogs, metadata.LogsStability),
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
	// HTTP/1.1, as the SDK bridge: connections are kept, one per run in
	// flight, and HTTP/2's multiplexing measured no cheaper and slower
	// (bench/conns_test.go). force_attempt_http2 turns it back on.
	client.ForceAttemptHTTP2 = false
	// One consumer: the run tracker must see batches in the order the
	// receivers took them, or a root overtakes its children and they
	// arrive late; consuming only hands spans over, so one is enough.
	queue := exporterhelper.NewDefaultQueueConfig()
	queue.NumConsumers = 1
	return &Config{
		ClientConfig:    client,
		QueueConfig:     configoptional.Some(queue),
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
	exp := sharedFor(c, set)
	return newTraces(ctx, set, c, exp.consume,
		exporterhelper.WithStart(exp.start),
		exporterhelper.WithShutdown(exp.shutdown))
}

// newTraces wraps consume in exporterhelper's queue and retry as cfg sets
// them.
func newTraces(ctx context.Context, set exporter.Settings, cfg *Config, consume consumer.ConsumeTracesFunc, opts ...exporterhelper.Option) (exporter.Traces, error) {
	return exporterhelper.NewTraces(ctx, set, cfg, consume, append(opts,
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		// Consuming only hands spans to the run tracker, and fails only
		// when a bound refuses a batch whole; the ingest client retries
		// each request itself (request_retry). So a retry here offers a
		// refused batch again, and never re-sends spans already tracked.
		// With one queue consumer (Validate insists) it also holds back
		// the batches behind it, so the tracker still sees them in order.
		exporterhelper.WithRetry(cfg.RetryConfig),
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		exporterhelper.WithQueue(cfg.QueueConfig),
	)...)
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
