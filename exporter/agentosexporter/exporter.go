package agentosexporter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"

	"github.com/agentos-ai/agentos-otel/exporter/agentosexporter/internal/metadata"
	"github.com/agentos-ai/agentos-otel/exporter/agentosexporter/internal/pdataspans"
	"github.com/agentos-ai/agentos-otel/internal/delivery"
	"github.com/agentos-ai/agentos-otel/internal/frontend"
	"github.com/agentos-ai/agentos-otel/internal/pipeline"
)

// tracesExporter adapts the Collector's traces to the shared pipeline.
type tracesExporter struct {
	cfg   *Config
	set   exporter.Settings
	p     *pipeline.Pipeline
	store storage.Client // nil without storage
	// joinsLogs is set when a logs pipeline names the exporter too.
	joinsLogs bool
}

func newTracesExporter(cfg *Config, set exporter.Settings) *tracesExporter {
	return &tracesExporter{cfg: cfg, set: set}
}

func (e *tracesExporter) start(ctx context.Context, host component.Host) error {
	cc := e.clientConfig()
	client, err := cc.ToClient(ctx, host.GetExtensions(), uninstrumented(e.set.TelemetrySettings))
	if err != nil {
		return fmt.Errorf("agentos exporter: building the HTTP client: %w", err)
	}
	pc, err := e.cfg.pipelineConfig()
	if err != nil {
		return err
	}
	pc.Ingest.HTTPClient = client
	pc.Ingest.UserAgent = userAgent(e.set.BuildInfo)
	if pc.Instruments, err = instruments(e.set.TelemetrySettings); err != nil {
		return fmt.Errorf("agentos exporter: self-telemetry: %w", err)
	}
	pc.Logger = slog.New(zapslog.NewHandler(e.set.TelemetrySettings.Logger.Core()))
	pc.Ingest.Logger = pc.Logger
	if e.cfg.Storage != nil {
		if e.store, err = storageClient(ctx, host, *e.cfg.Storage, e.set.ID); err != nil {
			return err
		}
		pc.Journal = storageStore{e.store}
	}
	tb, err := metadata.NewTelemetryBuilder(e.set.TelemetrySettings)
	if err != nil {
		return fmt.Errorf("agentos exporter: self-telemetry: %w", err)
	}
	pc.JoinLogs = e.joinsLogs
	pc.LogDropped = logDropReporter(e.set.Logger, tb.LogRecordsDropped)
	e.p, err = pipeline.New(pc)
	if err != nil {
		if e.store != nil {
			_ = e.store.Close(ctx)
			e.store = nil
		}
		return fmt.Errorf("agentos exporter: %w", frontend.YAMLNames(err))
	}
	return nil
}

// uninstrumented returns set without its tracer provider, so that
// ToClient does not wrap the client in otelhttp (it does when both
// providers are set). The wrapper hides the request body's type from
// net/http, which then writes headers and body in two writes instead of
// one, and costs several µs a request besides: with it the exporter cost
// 1.33× the SDK exporter's CPU per span at 8 and 50 spans per run (make
// bench). It would also put the Collector's trace context on requests to
// AgentOS. The agentos.* metrics cover delivery.
func uninstrumented(set component.TelemetrySettings) component.TelemetrySettings {
	set.TracerProvider = nil
	return set
}

// consume converts and hands over; delivery happens in the background, in
// order per run. At the memory bound it returns a retryable error: nothing
// of the batch was taken, so the retry sender offers it again later and,
// meanwhile, the sending queue fills and the receivers push back.
func (e *tracesExporter) consume(ctx context.Context, td ptrace.Traces) error {
	if e.p == nil {
		return errors.New("agentos exporter: not started")
	}
	err := e.p.ConsumeSpans(ctx, pdataspans.Append(nil, td))
	if errors.Is(err, pipeline.ErrShutdown) {
		return consumererror.NewPermanent(err)
	}
	return err
}

// userAgent names the exporter and the Collector build it runs in, after
// the ingest client's own product token:
// "agentos-otel-go/0.1.0 agentosexporter (otelcol-agentos/0.1.0)".
func userAgent(info component.BuildInfo) string {
	const name = "agentosexporter"
	build := info.Command + "/" + info.Version
	if info.Command == "" || strings.ContainsFunc(build, func(r rune) bool { return r < 0x21 || r > 0x7e || r == '(' || r == ')' }) {
		// Not a plain product token: leave it out rather than fail Start.
		return name
	}
	return name + " (" + build + ")"
}

// clientConfig is the configured HTTP client sized to the runs in
// flight: at most one connection per run in flight (max_conns_per_host,
// unless set lower), each kept idle between requests. A smaller idle pool
// closes most connections after each burst of requests and dials (over
// TLS, handshakes) new ones for the next, all cost and no saving since
// never more are busy than runs in flight; without the bound, a request
// that finds none idle dials a spare instead of waiting the moment one
// takes to come back. A raised pool is said; keep-alive turned off is left
// off, with a warning.
func (e *tracesExporter) clientConfig() confighttp.ClientConfig {
	cc := e.cfg.ClientConfig
	conc := cmp.Or(e.cfg.Concurrency, delivery.DefaultConcurrency)
	ka := cc.Keepalive.Get()
	if ka == nil {
		e.set.Logger.Warn("keepalive is off: every AgentOS request opens a new connection (at least 3 per run; over TLS each is a handshake)",
			zap.Int("concurrency", conc))
		return cc
	}
	if cc.MaxConnsPerHost <= 0 || cc.MaxConnsPerHost > conc {
		cc.MaxConnsPerHost = conc
	}
	perHost := frontend.EffectivePerHost(ka.MaxIdleConnsPerHost)
	if !frontend.SmallPool(perHost, ka.MaxIdleConns, conc) {
		return cc
	}
	sized := *ka
	sized.MaxIdleConnsPerHost, sized.MaxIdleConns = frontend.IdlePool(perHost, ka.MaxIdleConns, conc)
	e.set.Logger.Info("keepalive::max_idle_conns_per_host and max_idle_conns raised to concurrency, so that connections to AgentOS are reused instead of reopened after each burst",
		zap.Int("max_idle_conns_per_host", sized.MaxIdleConnsPerHost), zap.Int("configured_max_idle_conns_per_host", ka.MaxIdleConnsPerHost),
		zap.Int("max_idle_conns", sized.MaxIdleConns), zap.Int("configured_max_idle_conns", ka.MaxIdleConns),
		zap.Int("concurrency", conc))
	cc.Keepalive = configoptional.Some(sized)
	return cc
}

// shutdown closes every run still open (as failed, saying why) and waits
// for delivery until ctx ends; with storage, open runs and held spans stay
// stored for the next start instead.
func (e *tracesExporter) shutdown(ctx context.Context) error {
	if e.p == nil {
		return nil
	}
	err := e.p.Shutdown(ctx)
	if e.store != nil {
		err = errors.Join(err, e.store.Close(ctx))
	}
	return err
}

// pipelineConfig converts the validated Config to the core's.
func (cfg *Config) pipelineConfig() (pipeline.Config, error) {
	patterns := make([]*regexp.Regexp, 0, len(cfg.Redaction.Patterns))
	for _, p := range cfg.Redaction.Patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return pipeline.Config{}, fmt.Errorf("redaction::patterns: %w", err)
		}
		patterns = append(patterns, re)
	}
	keys := make(map[string]string, len(cfg.AgentKeys))
	for id, k := range cfg.AgentKeys {
		keys[id] = string(k)
	}
	r := cfg.RequestRetry
	s := frontend.Settings{
		Endpoint:        cfg.ClientConfig.Endpoint,
		AllowInsecure:   cfg.AllowInsecureHTTP,
		APIKey:          string(cfg.APIKey),
		AgentKeys:       keys,
		AgentID:         cfg.AgentID,
		TriggerType:     string(cfg.TriggerType),
		SelectorMode:    string(cfg.RunSelector.Mode),
		SelectorPattern: cfg.RunSelector.Pattern,
		Redaction:       frontend.Redaction{Attributes: cfg.Redaction.Attributes, Patterns: patterns, Drop: cfg.Redaction.Drop},
		MinLevel:        string(cfg.MinLevel),
		MaxStringLength: cfg.MaxStringLength,
		Tasks:           cfg.Tasks,

		RemoteParentIsRoot: cfg.RemoteParentIsRoot,
		Concurrency:        cfg.Concurrency,
		Retry: frontend.Retry{
			Enabled: r.Enabled, InitialInterval: r.InitialInterval, MaxInterval: r.MaxInterval,
			Multiplier: r.Multiplier, RandomizationFactor: r.RandomizationFactor, MaxElapsedTime: r.MaxElapsedTime,
		},
		Limits: frontend.Limits{
			MaxSpansPerTrace: cfg.Limits.MaxSpansPerTrace,
			MaxHeldSpans:     cfg.Limits.MaxHeldSpans,
			MaxOpenRuns:      cfg.Limits.MaxOpenRuns,
			MaxBufferedBytes: cfg.Limits.MaxBufferedBytes,
			MaxBatchEvents:   cfg.Limits.MaxBatchEvents,
			MaxRequestBytes:  cfg.Limits.MaxRequestBytes,
		},
		Timing: frontend.Timing{
			MaxWait:       cfg.Timing.MaxWait,
			GracePeriod:   cfg.Timing.GracePeriod,
			OrphanTimeout: cfg.Timing.OrphanTimeout,
		},
	}
	pc, err := s.PipelineConfig()
	if err != nil {
		return pc, fmt.Errorf("run_selector: %w", err)
	}
	pc.MaxJournalBytes = cfg.Limits.MaxStoredBytes
	return pc, nil
}
