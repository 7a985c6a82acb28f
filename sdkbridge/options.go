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
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/delivery"
	"github.com/agentos-ai/agentos-otel/internal/frontend"
	"github.com/agentos-ai/agentos-otel/internal/ingest"
	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/pipeline"
)

// Environment variables read by NewExporter and NewSpanProcessor; the
// package documentation has them in one table. Options given in code win
// over them.
const (
	EnvAPIKey   = "AGENTOS_API_KEY"
	EnvAgentID  = "AGENTOS_AGENT_ID"
	EnvEndpoint = "AGENTOS_ENDPOINT"
	// EnvInsecure, "true" or "false", is WithInsecure.
	EnvInsecure = "AGENTOS_INSECURE"
	// EnvTimeout is WithTimeout, in milliseconds as
	// OTEL_EXPORTER_OTLP_TIMEOUT is, or a Go duration such as "10s".
	EnvTimeout = "AGENTOS_TIMEOUT"
	// EnvCertificate is a PEM file of the CAs that verify AgentOS's
	// certificate, instead of the system's.
	EnvCertificate = "AGENTOS_CERTIFICATE"
	// EnvClientCertificate and EnvClientKey are PEM files of a client
	// certificate and its key, for mutual TLS; set both or neither.
	EnvClientCertificate = "AGENTOS_CLIENT_CERTIFICATE"
	EnvClientKey         = "AGENTOS_CLIENT_KEY"
)

// Option configures an Exporter or a SpanProcessor; both constructors take
// every Option. Options only the live SpanProcessor honours are of type
// ProcessorOption.
type Option interface {
	apply(*config)
}

// ProcessorOption is an Option that only NewSpanProcessor honours, such as
// WithQueueSize and WithMaxRunDuration. It is an Option, so one []Option
// can serve both constructors; NewExporter refuses it with an error naming
// it rather than ignore it.
type ProcessorOption struct {
	name string
	f    func(*config)
}

func (o ProcessorOption) apply(c *config) {
	o.f(c)
	c.processorOnly = append(c.processorOnly, o.name)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	apiKey        string
	agentID       string
	agentKeys     map[string]string
	endpoint      string
	endpointHost  bool // endpoint is host[:port][/path], no scheme
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
	processorOnly  []string // names of the ProcessorOptions given
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
	MaxOpenRuns      int // traces tracked at once; default 10 000 (traces without a started run are evicted first)
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
	OrphanTimeout time.Duration // close a rootless run, or let go of spans no selector picked, after this much silence; default 5m
}

// RetryConfig bounds retries of failed requests, in otlptracehttp's shape:
// Enabled false turns retries off; zero durations keep their defaults
// (500 ms, 30 s, 5 min), and negative ones are refused.
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
// otlptracehttp.WithEndpoint does: requests go over https://, or over
// http:// with WithInsecure or when the host is this machine (127.0.0.1,
// ::1, localhost). A value with a scheme is taken as WithEndpointURL. The
// last of WithEndpoint and WithEndpointURL wins. Default
// https://agentos-ai.dev.
func WithEndpoint(endpoint string) Option {
	return optionFunc(func(c *config) { c.setEndpoint(endpoint) })
}

// WithEndpointURL sets the AgentOS base URL, such as
// https://agentos.example.com or http://127.0.0.1:8787, optionally with a
// path prefix, never with the ingest path /api/ingest/v1. Its scheme is
// used as given; http:// to a host that is not loopback also needs
// WithInsecure, which otlptracehttp does not ask for: the agent key would
// travel in clear text.
func WithEndpointURL(url string) Option {
	return optionFunc(func(c *config) { c.endpoint, c.endpointHost = url, false })
}

// WithInsecure sends requests over plain http:// (AGENTOS_INSECURE=true):
// to a host given by WithEndpoint or AGENTOS_ENDPOINT as host[:port], as
// otlptracehttp.WithInsecure does, and it permits an http:// URL to a host
// that is not loopback. A URL's https:// scheme is kept.
func WithInsecure() Option { return optionFunc(func(c *config) { c.allowInsecure = true }) }

func (c *config) setEndpoint(endpoint string) {
	endpoint = strings.TrimSpace(endpoint)
	c.endpoint, c.endpointHost = endpoint, !strings.Contains(endpoint, "://")
}

// baseURL is the endpoint as a URL: a host gets http:// under WithInsecure,
// otherwise what ingest.EndpointURL gives it (https://, http:// for
// loopback).
func (c *config) baseURL() string {
	switch {
	case !c.endpointHost || c.endpoint == "":
		return c.endpoint
	case c.allowInsecure:
		return "http://" + c.endpoint
	}
	return ingest.EndpointURL(c.endpoint)
}

// WithHTTPClient sets the client for requests to AgentOS. Its Timeout, if
// set, is taken as WithTimeout's bound unless WithTimeout is given. If its
// CheckRedirect is nil, redirects are not followed, as with the default
// client: one could carry the key to another host. WithTLSClientConfig,
// WithProxy and the certificate variables (AGENTOS_CERTIFICATE, …)
// configure the default client only; with this option, set them
// on your client's transport, and keep as many idle connections
// (MaxIdleConnsPerHost and MaxIdleConns) as runs are delivered at once
// (WithConcurrency), or connections are closed after each burst and dialed
// again: the bridge warns with the figures, and does not change your
// transport. The default client has one connection per run in flight.
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

// WithTimeout bounds each attempt of a request (AGENTOS_TIMEOUT; default
// 30 s); WithRetry's MaxElapsedTime bounds the request with its retries.
// Unlike otlptracehttp's, the bound doubles after an attempt whose outcome
// is unknown (a timeout after the request was sent, a reset), up to
// MaxElapsedTime, and later requests keep the longer bound until AgentOS
// answers well within it again: a slow AgentOS gets the time to answer
// rather than a duplicate request.
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

// WithRemoteParentIsRoot decides whether a span whose parent is in another
// process starts a run of its own, as the Collector exporter's
// remote_parent_is_root does. The default is true here and false in the
// Collector: in an instrumented process the remote parent never arrives,
// so waiting for it would only delay the run by Timing.MaxWait, while a
// Collector may receive the parent from the other service.
func WithRemoteParentIsRoot(root bool) Option {
	return optionFunc(func(c *config) { c.remoteRoot = root })
}

// WithRemoteParentAsRoot is WithRemoteParentIsRoot.
//
// Deprecated: use WithRemoteParentIsRoot, named like the Collector's
// remote_parent_is_root.
func WithRemoteParentAsRoot(root bool) Option { return WithRemoteParentIsRoot(root) }

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
// queue, at most 65536, and the last 1/8 of MaxBufferedBytes). NewExporter
// refuses it.
func WithQueueSize(n int) ProcessorOption {
	return ProcessorOption{"WithQueueSize", func(c *config) { c.queueSize = n }}
}

// WithMeterProvider reports the bridge's own metrics (runs, events, drops,
// failed requests); without it they are not recorded.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.meterProvider = mp })
}

// WithLogger sets where the bridge logs delivery problems. Without it they
// go to slog.Default(), and the errors among them (a run not delivered)
// also to otel.Handle, the global error handler otel-go users watch; with
// it, only to l.
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
		c.setEndpoint(v) // host[:port] or a URL
	}
	if err := c.readEnv(); err != nil {
		return c, err
	}
	tlsFromOptions := false
	for _, o := range opts {
		o.apply(&c)
		if c.tlsConfig != nil || c.httpClient != nil {
			tlsFromOptions = true
		}
	}
	if !tlsFromOptions {
		// The TLS variables configure the default client, unless options
		// gave a client or its TLS configuration.
		var err error
		if c.tlsConfig, err = tlsFromEnv(); err != nil {
			return c, err
		}
	}
	c.endpoint = c.baseURL()
	if c.agentID == "" && len(c.agentKeys) == 0 {
		return c, fmt.Errorf("agentos: no agent id: set %s or use WithAgentID", EnvAgentID)
	}
	if c.apiKey == "" && len(c.agentKeys) == 0 {
		return c, fmt.Errorf("agentos: no API key: set %s or use WithAPIKey or WithAgentKeys", EnvAPIKey)
	}
	if err := ingest.CheckBaseURL(c.endpoint, c.allowInsecure); err != nil {
		return c, fmt.Errorf("agentos: endpoint (%s, WithEndpoint or WithEndpointURL): %w%s", EnvEndpoint, err,
			frontend.InsecureHint(err, "WithInsecure or "+EnvInsecure+"=true"))
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
	s := frontend.Settings{
		Endpoint:        c.endpoint,
		AllowInsecure:   c.allowInsecure,
		APIKey:          c.apiKey,
		AgentKeys:       c.agentKeys,
		AgentID:         c.agentID,
		TriggerType:     string(c.triggerType),
		SelectorMode:    c.selectorMode,
		SelectorPattern: c.selectorRegex,
		Redaction:       frontend.Redaction(c.redaction),
		MinLevel:        string(c.minLevel),
		MaxStringLength: c.maxStringLen,
		Tasks:           c.tasks,

		RemoteParentIsRoot: c.remoteRoot,
		Concurrency:        c.concurrency,
		Limits: frontend.Limits{
			MaxSpansPerTrace: c.limits.MaxSpansPerTrace,
			MaxHeldSpans:     c.limits.MaxHeldSpans,
			MaxOpenRuns:      c.limits.MaxOpenRuns,
			MaxBufferedBytes: c.limits.MaxBufferedBytes,
			MaxBatchEvents:   c.limits.MaxBatchEvents,
			MaxRequestBytes:  c.limits.MaxRequestBytes,
		},
		Timing: frontend.Timing{
			MaxWait:        c.timing.MaxWait,
			GracePeriod:    c.timing.GracePeriod,
			OrphanTimeout:  c.timing.OrphanTimeout,
			MaxRunDuration: c.maxRunDuration,
		},
		Retry: frontend.Retry{Enabled: true},
	}
	if r := c.retry; r != nil {
		s.Retry = frontend.Retry{Enabled: r.Enabled, InitialInterval: r.InitialInterval, MaxInterval: r.MaxInterval, MaxElapsedTime: r.MaxElapsedTime}
	}
	pc, err := s.PipelineConfig()
	if err != nil {
		return pc, fmt.Errorf("agentos: WithRunSelector: %w", err)
	}
	log := c.logger
	if log == nil {
		log = slog.New(otelErrorHandler{slog.Default().Handler(), nil})
	}
	warnSmallConnectionPool(log, c.httpClient, cmp.Or(c.concurrency, delivery.DefaultConcurrency))
	pc.Ingest.HTTPClient = c.httpClient
	pc.Ingest.Timeout = c.timeout
	pc.Ingest.TLSConfig = c.tlsConfig
	pc.Ingest.Proxy = c.proxy
	pc.Ingest.Headers = c.headers
	pc.Ingest.UserAgent = userAgent
	pc.Ingest.Logger = log
	pc.MeterProvider = c.meterProvider
	pc.Logger = log
	return pc, nil
}

// warnSmallConnectionPool says when the caller's client keeps fewer idle
// connections than runs are delivered at once, and how many of them are
// closed after each burst and dialed (and handshaken) again for the next.
// Over HTTP/2 the idle pool does not matter, but whether AgentOS answers
// in HTTP/2 is not known before the first request. The client is the
// caller's: it is not changed.
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
	if tr.DisableKeepAlives {
		log.Warn("agentos: WithHTTPClient's transport has keep-alives off (DisableKeepAlives): every request to AgentOS opens a new connection, at least 3 per run",
			slog.Int("concurrency", concurrency))
		return
	}
	perHost := frontend.EffectivePerHost(tr.MaxIdleConnsPerHost)
	if !frontend.SmallPool(perHost, tr.MaxIdleConns, concurrency) {
		return
	}
	kept := perHost
	if tr.MaxIdleConns > 0 {
		kept = min(kept, tr.MaxIdleConns)
	}
	log.Warn(fmt.Sprintf("agentos: WithHTTPClient's transport keeps %d idle connections to AgentOS (MaxIdleConnsPerHost %d, MaxIdleConns %d) where %d runs are delivered at once (WithConcurrency): over HTTP/1.1 up to %d connections are closed after each burst and opened again; set both to at least %d",
		kept, tr.MaxIdleConnsPerHost, tr.MaxIdleConns, concurrency, concurrency-kept, concurrency),
		slog.Int("idle_conns_kept", kept), slog.Int("concurrency", concurrency))
}

// newPipeline builds the core from opts; adjust, when not nil, changes
// its configuration first.
func newPipeline(opts []Option, adjust func(*pipeline.Config)) (*pipeline.Pipeline, config, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, c, err
	}
	return newPipelineFrom(c, adjust)
}

// newPipelineFrom builds the core from c; adjust as for newPipeline.
func newPipelineFrom(c config, adjust func(*pipeline.Config)) (*pipeline.Pipeline, config, error) {
	pc, err := c.pipelineConfig()
	if err != nil {
		return nil, c, err
	}
	if adjust != nil {
		adjust(&pc)
	}
	p, err := pipeline.New(pc)
	if err != nil {
		return nil, c, fmt.Errorf("agentos: %w", frontend.SDKNames(err))
	}
	return p, c, nil
}

// userAgent names this front end after the project and version.
const userAgent = "sdkbridge"
