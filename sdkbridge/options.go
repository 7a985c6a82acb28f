package sdkbridge

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/configerr"
	"github.com/agentos-ai/agentos-otel/internal/delivery"
	"github.com/agentos-ai/agentos-otel/internal/ingest"
	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/pipeline"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
)

// Environment variables read by NewExporter and NewSpanProcessor. Options
// given in code win over them.
const (
	EnvAPIKey   = "AGENTOS_API_KEY"
	EnvAgentID  = "AGENTOS_AGENT_ID"
	EnvEndpoint = "AGENTOS_ENDPOINT"
)

// Option configures an Exporter or a SpanProcessor.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	apiKey        string
	agentID       string
	agentKeys     map[string]string
	endpoint      string
	allowInsecure bool
	httpClient    *http.Client
	headers       map[string]string
	timeout       time.Duration
	tlsConfig     *tls.Config
	proxy         HTTPTransportProxyFunc
	selectorMode  string
	selectorRegex string
	redaction     Redaction
	minLevel      Level
	triggerType   TriggerType
	tasks         bool
	maxStringLen  int
	limits        Limits
	timing        Timing
	retry         *RetryConfig
	remoteRoot    bool
	concurrency   int
	queueSize     int
	meterProvider metric.MeterProvider
	logger        *slog.Logger
	// maxRunDuration: see WithMaxRunDuration (processor_options.go).
	maxRunDuration time.Duration
}

// Redaction masks (or, with Drop, removes) attributes by exact name or by
// pattern, in every payload.
type Redaction struct {
	Attributes []string
	Patterns   []*regexp.Regexp
	Drop       bool
}

// Limits bound the memory the bridge may hold and the size of requests.
// Zero fields keep their defaults.
type Limits struct {
	MaxSpansPerTrace int // spans held per trace waiting for its root; default 10 000
	MaxHeldSpans     int // spans held across traces; default 100 000
	MaxOpenRuns      int // traces tracked at once; default 10 000
	// MaxBufferedBytes bounds the estimated memory of spans held for their
	// root and of requests waiting for delivery; default 64 MiB. At the
	// bound ExportSpans waits for room up to 5 s (or its context), then
	// returns ErrBufferFull. The live processor's queue shares it: the
	// core takes up to 7/8 of it, child spans are queued while queue and
	// core together stay within 7/8, run roots within the whole; past
	// that they are dropped and counted (see SpanProcessor).
	MaxBufferedBytes int64
	MaxBatchEvents   int // events per request; default 100
	MaxRequestBytes  int // bytes per events request; default 512 KiB
}

// Timing sets the tracker's waits. Zero fields keep their defaults.
type Timing struct {
	MaxWait       time.Duration // hold children this long for their root; default 30s
	GracePeriod   time.Duration // after the root ends, wait for stragglers; default 2s
	OrphanTimeout time.Duration // close a rootless run after this much silence; default 5m
}

// RetryConfig bounds retries of failed requests, in otlptracehttp's shape:
// Enabled false turns retries off; zero durations keep their defaults
// (500 ms, 30 s, 5 min).
type RetryConfig struct {
	Enabled         bool
	InitialInterval time.Duration
	MaxInterval     time.Duration
	MaxElapsedTime  time.Duration
}

// HTTPTransportProxyFunc picks the proxy of a request, as
// otlptracehttp.HTTPTransportProxyFunc does (http.ProxyURL makes one).
type HTTPTransportProxyFunc func(*http.Request) (*url.URL, error)

// Level is an AgentOS event level.
type Level string

// Event levels, least first.
const (
	LevelDebug Level = agentosapi.LevelDebug
	LevelInfo  Level = agentosapi.LevelInfo
	LevelWarn  Level = agentosapi.LevelWarn
	LevelError Level = agentosapi.LevelError
)

// TriggerType says what started a run.
type TriggerType string

// Trigger types AgentOS accepts.
const (
	TriggerManual    TriggerType = agentosapi.TriggerManual
	TriggerScheduled TriggerType = agentosapi.TriggerScheduled
	TriggerWebhook   TriggerType = agentosapi.TriggerWebhook
	TriggerSDK       TriggerType = agentosapi.TriggerSDK
)

// RunSelector decides which root spans become AgentOS runs.
type RunSelector struct{ mode, pattern string }

// Run selectors.
var (
	// AllRoots makes every root span a run (the default).
	AllRoots = RunSelector{mode: string(mapping.SelectAll)}
	// InvokeAgentRoots selects roots whose gen_ai.operation.name is invoke_agent.
	InvokeAgentRoots = RunSelector{mode: string(mapping.SelectInvokeAgent)}
	// RootsWithAgentID selects roots that carry agentos.agent_id.
	RootsWithAgentID = RunSelector{mode: string(mapping.SelectHasAgentID)}
)

// RootsNamed selects roots whose name matches the regular expression.
func RootsNamed(pattern string) RunSelector {
	return RunSelector{mode: string(mapping.SelectNamePattern), pattern: pattern}
}

// WithAPIKey sets the default agent key (AGENTOS_API_KEY).
func WithAPIKey(key string) Option { return optionFunc(func(c *config) { c.apiKey = key }) }

// WithAgentID sets the agent a run reports to when neither the root span nor
// the resource carries agentos.agent_id (AGENTOS_AGENT_ID).
func WithAgentID(id string) Option { return optionFunc(func(c *config) { c.agentID = id }) }

// WithAgentKeys sets one agent key per agent id; other agents use the
// default key.
func WithAgentKeys(keys map[string]string) Option {
	return optionFunc(func(c *config) {
		c.agentKeys = make(map[string]string, len(keys))
		for id, k := range keys {
			c.agentKeys[id] = k
		}
	})
}

// WithEndpoint sets the AgentOS host as host[:port] (AGENTOS_ENDPOINT), as
// otlptracehttp.WithEndpoint does: requests go over https://, or http://
// when the host is this machine (127.0.0.1, ::1, localhost). A value with a
// scheme is taken as WithEndpointURL. Default https://agentos-ai.dev.
func WithEndpoint(endpoint string) Option {
	return optionFunc(func(c *config) { c.endpoint = ingest.EndpointURL(endpoint) })
}

// WithEndpointURL sets the AgentOS base URL, such as
// https://agentos.example.com or http://127.0.0.1:8787, optionally with a
// path prefix, never with the ingest path /api/ingest/v1.
func WithEndpointURL(url string) Option { return optionFunc(func(c *config) { c.endpoint = url }) }

// WithInsecure permits plain http:// to a host that is not loopback.
func WithInsecure() Option { return optionFunc(func(c *config) { c.allowInsecure = true }) }

// WithHTTPClient sets the client for requests to AgentOS. Its Timeout, if
// set, bounds a request's first attempt unless WithTimeout is given. If its
// CheckRedirect is nil, redirects are not followed, as with the default
// client: one could carry the key to another host. WithTLSClientConfig and
// WithProxy configure the default client only; with this option, set them
// on your client's transport, and keep as many idle connections per host
// (MaxIdleConnsPerHost) as runs are delivered at once (WithConcurrency), or
// connections are closed after each burst and dialed again.
func WithHTTPClient(client *http.Client) Option {
	return optionFunc(func(c *config) { c.httpClient = client })
}

// WithHeaders adds headers to every request, as otlptracehttp.WithHeaders
// does. Authorization, Content-Type, Accept and User-Agent are the bridge's
// own and are refused.
func WithHeaders(headers map[string]string) Option {
	return optionFunc(func(c *config) {
		c.headers = make(map[string]string, len(headers))
		for k, v := range headers {
			c.headers[k] = v
		}
	})
}

// WithTimeout bounds the first attempt of each request (default 30 s); an
// attempt after one whose outcome is unknown gets twice as long, within
// the retry budget.
func WithTimeout(d time.Duration) Option { return optionFunc(func(c *config) { c.timeout = d }) }

// WithTLSClientConfig sets the TLS configuration of the default client,
// such as a private CA's RootCAs or a client certificate.
func WithTLSClientConfig(cfg *tls.Config) Option {
	return optionFunc(func(c *config) { c.tlsConfig = cfg })
}

// WithProxy sets the default client's proxy; default
// http.ProxyFromEnvironment (HTTPS_PROXY, NO_PROXY).
func WithProxy(pf HTTPTransportProxyFunc) Option {
	return optionFunc(func(c *config) { c.proxy = pf })
}

// WithRunSelector decides which root spans become runs.
func WithRunSelector(s RunSelector) Option {
	return optionFunc(func(c *config) { c.selectorMode, c.selectorRegex = s.mode, s.pattern })
}

// WithRedaction masks or drops attributes by name or pattern.
func WithRedaction(r Redaction) Option { return optionFunc(func(c *config) { c.redaction = r }) }

// WithMinLevel drops events below level; default LevelDebug (all).
func WithMinLevel(level Level) Option { return optionFunc(func(c *config) { c.minLevel = level }) }

// WithTriggerType sets trigger_type for runs whose root does not carry
// agentos.trigger_type; default TriggerSDK.
func WithTriggerType(t TriggerType) Option {
	return optionFunc(func(c *config) { c.triggerType = t })
}

// WithTasks also reports tool, agent and step spans as AgentOS tasks.
func WithTasks() Option { return optionFunc(func(c *config) { c.tasks = true }) }

// WithMaxStringLength truncates longer attribute strings, with a marker.
func WithMaxStringLength(n int) Option { return optionFunc(func(c *config) { c.maxStringLen = n }) }

// WithLimits bounds memory and request sizes.
func WithLimits(l Limits) Option { return optionFunc(func(c *config) { c.limits = l }) }

// WithTiming sets the maximum wait, grace period and orphan timeout.
func WithTiming(t Timing) Option { return optionFunc(func(c *config) { c.timing = t }) }

// WithRetry sets the retries of failed requests, as otlptracehttp.WithRetry
// does; without it they are on with the defaults.
func WithRetry(r RetryConfig) Option { return optionFunc(func(c *config) { c.retry = &r }) }

// WithRemoteParentAsRoot decides whether a span whose parent is in another
// process starts a run of its own (default true: its parent never reaches
// this process).
func WithRemoteParentAsRoot(root bool) Option {
	return optionFunc(func(c *config) { c.remoteRoot = root })
}

// WithConcurrency sets how many runs are delivered in parallel; default 256,
// so that a round trip of 50 to 100 ms to AgentOS does not limit
// throughput. A run's own requests are always sent one at a time.
func WithConcurrency(n int) Option { return optionFunc(func(c *config) { c.concurrency = n }) }

// WithQueueSize sets how many child span starts and ends the live span
// processor's queue holds; default 65536, enough for a burst of a few
// thousand runs. The queue is bounded in bytes too: it shares
// Limits.MaxBufferedBytes with the core, child spans within 7/8 of it (see
// SpanProcessor). It grows in chunks as it fills, so its room costs
// nothing until used. When it is full, child span starts and ends are
// dropped and counted; run roots have a reserve of their own (16 times the
// queue, at most 65536, and the last 1/8 of MaxBufferedBytes).
func WithQueueSize(n int) Option { return optionFunc(func(c *config) { c.queueSize = n }) }

// WithMeterProvider reports the bridge's own metrics (runs, events, drops,
// failed requests); without it they are not recorded.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.meterProvider = mp })
}

// WithLogger sets where the bridge logs delivery problems; default
// slog.Default().
func WithLogger(l *slog.Logger) Option { return optionFunc(func(c *config) { c.logger = l }) }

const defaultQueueSize = 1 << 16

// newConfig applies defaults, then the environment, then opts.
func newConfig(opts []Option) (config, error) {
	c := config{
		endpoint:   agentosapi.DefaultBaseURL,
		remoteRoot: true,
		queueSize:  defaultQueueSize,
	}
	if v := os.Getenv(EnvAPIKey); v != "" {
		c.apiKey = v
	}
	if v := os.Getenv(EnvAgentID); v != "" {
		c.agentID = v
	}
	if v := os.Getenv(EnvEndpoint); v != "" {
		c.endpoint = ingest.EndpointURL(v) // host[:port] or a URL
	}
	for _, o := range opts {
		o.apply(&c)
	}
	if c.agentID == "" && len(c.agentKeys) == 0 {
		return c, fmt.Errorf("agentos: no agent id: set %s or use WithAgentID", EnvAgentID)
	}
	if c.apiKey == "" && len(c.agentKeys) == 0 {
		return c, fmt.Errorf("agentos: no API key: set %s or use WithAPIKey or WithAgentKeys", EnvAPIKey)
	}
	if err := ingest.CheckBaseURL(c.endpoint, c.allowInsecure); err != nil {
		hint := ""
		if errors.Is(err, ingest.ErrInsecureEndpoint) {
			hint = " (WithInsecure permits it)"
		}
		return c, fmt.Errorf("agentos: endpoint (%s, WithEndpoint or WithEndpointURL): %w%s", EnvEndpoint, err, hint)
	}
	if c.queueSize <= 0 {
		return c, errors.New("agentos: WithQueueSize must be positive")
	}
	if c.limits.MaxBufferedBytes < 0 {
		return c, errors.New("agentos: WithLimits: MaxBufferedBytes must not be negative")
	}
	if c.concurrency < 0 {
		return c, errors.New("agentos: WithConcurrency must not be negative")
	}
	return c, nil
}

func (c *config) pipelineConfig() (pipeline.Config, error) {
	sel, err := mapping.NewSelector(c.selectorMode, c.selectorRegex)
	if err != nil {
		return pipeline.Config{}, fmt.Errorf("agentos: WithRunSelector: %w", err)
	}
	log := c.logger
	if log == nil {
		log = slog.Default()
	}
	warnSmallConnectionPool(log, c.httpClient, cmp.Or(c.concurrency, delivery.DefaultConcurrency))
	retry := ingest.DefaultRetryPolicy()
	if r := c.retry; r != nil {
		retry.Enabled = r.Enabled
		if r.InitialInterval > 0 {
			retry.InitialInterval = r.InitialInterval
		}
		if r.MaxInterval > 0 {
			retry.MaxInterval = r.MaxInterval
		}
		if r.MaxElapsedTime > 0 {
			retry.MaxElapsedTime = r.MaxElapsedTime
		}
	}
	return pipeline.Config{
		Ingest: ingest.Config{
			BaseURL:        c.endpoint,
			AllowInsecure:  c.allowInsecure,
			HTTPClient:     c.httpClient,
			Timeout:        c.timeout,
			TLSConfig:      c.tlsConfig,
			Proxy:          c.proxy,
			Headers:        c.headers,
			DefaultKey:     c.apiKey,
			AgentKeys:      c.agentKeys,
			MaxBodyBytes:   c.limits.MaxRequestBytes,
			MaxBatchEvents: c.limits.MaxBatchEvents,
			Retry:          retry,
			UserAgent:      userAgent,
			Logger:         log,
		},
		Mapping: mapping.Options{
			DefaultAgentID: c.agentID,
			DefaultTrigger: string(c.triggerType),
			Selector:       sel,
			MaxStringLen:   c.maxStringLen,
			Redaction:      mapping.Redaction{Names: c.redaction.Attributes, Patterns: c.redaction.Patterns, Drop: c.redaction.Drop},
			MinLevel:       string(c.minLevel),
			Tasks:          c.tasks,
		},
		Tracker: runtracker.Options{
			MaxWait:            c.timing.MaxWait,
			Grace:              c.timing.GracePeriod,
			OrphanTimeout:      c.timing.OrphanTimeout,
			MaxRunDuration:     c.maxRunDuration,
			MaxSpansPerTrace:   c.limits.MaxSpansPerTrace,
			MaxHeldSpans:       c.limits.MaxHeldSpans,
			MaxOpenRuns:        c.limits.MaxOpenRuns,
			RemoteParentIsRoot: c.remoteRoot,
		},
		Concurrency:      c.concurrency,
		MaxBufferedBytes: c.limits.MaxBufferedBytes,
		MeterProvider:    c.meterProvider,
		Logger:           log,
	}, nil
}

// warnSmallConnectionPool says when the caller's client keeps fewer idle
// connections than runs are delivered at once: the rest would be closed
// after each burst, and dialed (and handshaken) again for the next.
func warnSmallConnectionPool(log *slog.Logger, client *http.Client, concurrency int) {
	if client == nil {
		return // the default client's pool is sized to concurrency
	}
	var tr *http.Transport
	switch t := client.Transport.(type) {
	case nil:
		tr = http.DefaultTransport.(*http.Transport)
	case *http.Transport:
		tr = t
	default:
		return // not ours to inspect
	}
	perHost := cmp.Or(tr.MaxIdleConnsPerHost, http.DefaultMaxIdleConnsPerHost)
	if perHost < concurrency || (tr.MaxIdleConns > 0 && tr.MaxIdleConns < concurrency) {
		log.Warn("agentos: WithHTTPClient's transport keeps fewer idle connections than runs are delivered at once (WithConcurrency); set MaxIdleConnsPerHost and MaxIdleConns to at least that, or connections are reopened all the time",
			slog.Int("max_idle_conns_per_host", perHost), slog.Int("max_idle_conns", tr.MaxIdleConns), slog.Int("concurrency", concurrency))
	}
}

// newPipeline builds the core from opts; adjust, when not nil, changes
// its configuration first.
func newPipeline(opts []Option, adjust func(*pipeline.Config)) (*pipeline.Pipeline, config, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, c, err
	}
	pc, err := c.pipelineConfig()
	if err != nil {
		return nil, c, err
	}
	if adjust != nil {
		adjust(&pc)
	}
	p, err := pipeline.New(pc)
	if err != nil {
		return nil, c, fmt.Errorf("agentos: %w", configerr.Rename(err, func(field string) string { return settingNames[field] }))
	}
	return p, c, nil
}

// settingNames are this front end's names of the core's settings, for
// errors that name one.
var settingNames = map[string]string{
	"Config.DefaultKey":            EnvAPIKey + " / WithAPIKey",
	"Config.AgentKeys":             "WithAgentKeys",
	"Config.BaseURL":               EnvEndpoint + " / WithEndpoint",
	"Config.MaxBodyBytes":          "WithLimits(Limits{MaxRequestBytes})",
	"Config.MaxBatchEvents":        "WithLimits(Limits{MaxBatchEvents})",
	"Config.Retry.InitialInterval": "WithRetry(RetryConfig{InitialInterval})",
	"Config.Retry.MaxInterval":     "WithRetry(RetryConfig{MaxInterval})",
	"Config.Retry.MaxElapsedTime":  "WithRetry(RetryConfig{MaxElapsedTime})",
	"Config.Timeout":               "WithTimeout",
	"Config.Headers":               "WithHeaders",
	"Config.TLSConfig":             "WithTLSClientConfig (with WithHTTPClient, set TLS on your client's transport)",
	"Config.Proxy":                 "WithProxy (with WithHTTPClient, set the proxy on your client's transport)",
	"Mapping.DefaultAgentID":       EnvAgentID + " / WithAgentID",
	"Mapping.DefaultTrigger":       "WithTriggerType",
	"Mapping.MinLevel":             "WithMinLevel",
	"Mapping.MaxStringLen":         "WithMaxStringLength",
	"Tracker.MaxWait":              "WithTiming(Timing{MaxWait})",
	"Tracker.Grace":                "WithTiming(Timing{GracePeriod})",
	"Tracker.OrphanTimeout":        "WithTiming(Timing{OrphanTimeout})",
	"Tracker.MaxRunDuration":       "WithMaxRunDuration",
	"Tracker.MaxSpansPerTrace":     "WithLimits(Limits{MaxSpansPerTrace})",
	"Tracker.MaxHeldSpans":         "WithLimits(Limits{MaxHeldSpans})",
	"Tracker.MaxOpenRuns":          "WithLimits(Limits{MaxOpenRuns})",
}

// userAgent names this front end after the project and version.
const userAgent = "sdkbridge"
