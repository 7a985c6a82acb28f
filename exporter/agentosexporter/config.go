package agentosexporter

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/frontend"
	"github.com/agentos-ai/agentos-otel/internal/ingest"
	"github.com/agentos-ai/agentos-otel/internal/journal"
	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/pipeline"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
)

// Config is the exporter's configuration. Its endpoint is the AgentOS base
// URL, not an ingest path.
type Config struct {
	ClientConfig confighttp.ClientConfig                                  `mapstructure:",squash"`
	QueueConfig  configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	// RetryConfig is exporterhelper's retry of a batch the exporter
	// refused whole (at limits::max_buffered_bytes or max_stored_bytes).
	RetryConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`
	// RequestRetry is the ingest client's retry of each AgentOS request
	// (429, 5xx, timeouts, connection errors), the SDK bridge's WithRetry.
	RequestRetry configretry.BackOffConfig `mapstructure:"request_retry"`
	// Storage names a storage extension (such as file_storage) that keeps
	// the exporter's state across a crash: the spans it holds and the
	// progress of open runs. Without it that state lives in memory only.
	Storage *component.ID `mapstructure:"storage"`

	// APIKey is the default agent key (aos_agent_…).
	APIKey configopaque.String `mapstructure:"api_key"`
	// AgentKeys maps agent ids to their keys; other agents use APIKey.
	AgentKeys map[string]configopaque.String `mapstructure:"agent_keys"`
	// AgentID is the agent a run reports to unless its root span or resource
	// carries agentos.agent_id.
	AgentID string `mapstructure:"agent_id"`
	// TriggerType is used when the root has no valid agentos.trigger_type.
	TriggerType TriggerType `mapstructure:"trigger_type"`
	// AllowInsecureHTTP permits http:// to a host that is not loopback.
	AllowInsecureHTTP bool `mapstructure:"allow_insecure_http"`

	RunSelector RunSelectorConfig `mapstructure:"run_selector"`
	Redaction   RedactionConfig   `mapstructure:"redaction"`
	// MinLevel drops events below it.
	MinLevel Level `mapstructure:"min_level"`
	// MaxStringLength truncates longer attribute strings, with a marker.
	MaxStringLength int `mapstructure:"max_string_length"`
	// Tasks also reports tool, agent and step spans as AgentOS tasks.
	Tasks bool `mapstructure:"tasks"`
	// RemoteParentIsRoot makes a span with a remote parent a run root at
	// once, instead of waiting max_wait for its parent. Default false: a
	// Collector often receives the parent from the other service too. (The
	// SDK bridge's WithRemoteParentIsRoot defaults to true: inside one
	// process the remote parent never arrives.)
	RemoteParentIsRoot bool `mapstructure:"remote_parent_is_root"`
	// Concurrency is how many runs are delivered in parallel.
	Concurrency int `mapstructure:"concurrency"`

	Limits LimitsConfig `mapstructure:"limits"`
	Timing TimingConfig `mapstructure:"timing"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// RunSelectorConfig decides which root spans become runs.
type RunSelectorConfig struct {
	Mode RunSelectorMode `mapstructure:"mode"`
	// Pattern is the regular expression of name_pattern.
	Pattern string `mapstructure:"pattern"`
}

// RedactionConfig masks (or drops) attributes by name or pattern.
type RedactionConfig struct {
	Attributes []string `mapstructure:"attributes"`
	Patterns   []string `mapstructure:"patterns"`
	Drop       bool     `mapstructure:"drop"`
}

// LimitsConfig bounds memory and request sizes.
type LimitsConfig struct {
	MaxSpansPerTrace int `mapstructure:"max_spans_per_trace"`
	MaxHeldSpans     int `mapstructure:"max_held_spans"`
	MaxOpenRuns      int `mapstructure:"max_open_runs"`
	// MaxBufferedBytes bounds the estimated memory of spans held for their
	// root and of requests waiting for delivery. At the bound the exporter
	// refuses batches with a retryable error, so the sending queue and the
	// receivers push back.
	MaxBufferedBytes int64 `mapstructure:"max_buffered_bytes"`
	MaxBatchEvents   int   `mapstructure:"max_batch_events"`
	MaxRequestBytes  int   `mapstructure:"max_request_bytes"`
	// MaxStoredBytes bounds what the exporter keeps in its storage; at the
	// bound it refuses batches with a retryable error, as at
	// max_buffered_bytes.
	MaxStoredBytes int64 `mapstructure:"max_stored_bytes"`
}

// TimingConfig sets how long spans wait for their root and stragglers.
type TimingConfig struct {
	MaxWait       time.Duration `mapstructure:"max_wait"`
	GracePeriod   time.Duration `mapstructure:"grace_period"`
	OrphanTimeout time.Duration `mapstructure:"orphan_timeout"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration; every message names its field.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.APIKey == "" && len(cfg.AgentKeys) == 0 {
		errs = append(errs, errors.New("api_key: required (or agent_keys)"))
	}
	if cfg.AgentID == "" && len(cfg.AgentKeys) == 0 {
		errs = append(errs, errors.New("agent_id: required (or agent_keys, with agentos.agent_id on the spans)"))
	}
	for _, id := range slices.Sorted(maps.Keys(cfg.AgentKeys)) {
		key := cfg.AgentKeys[id]
		if !agentosapi.IsUUID(id) {
			errs = append(errs, fmt.Errorf("agent_keys: agent id %q is not a uuid", id))
		}
		if key == "" {
			errs = append(errs, fmt.Errorf("agent_keys: agent %s has an empty key", id))
		}
	}
	if cfg.APIKey == "" && cfg.AgentID != "" && len(cfg.AgentKeys) > 0 {
		if _, ok := cfg.AgentKeys[cfg.AgentID]; !ok {
			errs = append(errs, fmt.Errorf("api_key: required, since agent_keys has no key for agent_id %s", cfg.AgentID))
		}
	}
	errs = append(errs, cfg.validateClient()...)
	if err := ingest.CheckBaseURL(cfg.ClientConfig.Endpoint, cfg.AllowInsecureHTTP); err != nil {
		errs = append(errs, fmt.Errorf("endpoint: %w%s", err, frontend.InsecureHint(err, "allow_insecure_http")))
	}
	if _, err := mapping.NewSelector(string(cfg.RunSelector.Mode), cfg.RunSelector.Pattern); err != nil {
		errs = append(errs, fmt.Errorf("run_selector: %w", err))
	}
	for _, p := range cfg.Redaction.Patterns {
		if _, err := regexp.Compile(p); err != nil {
			errs = append(errs, fmt.Errorf("redaction::patterns: %q: %w", p, err))
		}
	}
	// Settings the core does not check before it starts, in a fixed order
	// so that the joined message is stable; the core checks the others.
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"concurrency", int64(cfg.Concurrency)},
		{"limits::max_buffered_bytes", cfg.Limits.MaxBufferedBytes},
		{"limits::max_batch_events", int64(cfg.Limits.MaxBatchEvents)},
		{"limits::max_request_bytes", int64(cfg.Limits.MaxRequestBytes)},
		{"limits::max_stored_bytes", cfg.Limits.MaxStoredBytes},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s: must not be negative", f.name))
		}
	}
	errs = append(errs, cfg.validateQueue()...)
	if n := cfg.Limits.MaxRequestBytes; n > 0 && n < ingest.MinMaxBodyBytes {
		errs = append(errs, fmt.Errorf("limits::max_request_bytes: %d is below the minimum of %d", n, ingest.MinMaxBodyBytes))
	}
	// The core's own checks (mapping and tracker), named with YAML keys.
	// pipelineConfig fails only on the selector and patterns, reported above.
	if pc, err := cfg.pipelineConfig(); err == nil {
		errs = append(errs, frontend.YAMLNames(pc.Mapping.Validate()), frontend.YAMLNames(pc.Tracker.Validate()))
	}
	return errors.Join(errs...)
}

// validateClient refuses the confighttp settings that would break every
// request: confighttp applies headers and authenticators after the
// exporter has set its own, so they would replace the agent key (AgentOS
// then answers 401 and the error blames api_key) or the body's type; and
// AgentOS does not document compressed request bodies.
func (cfg *Config) validateClient() []error {
	var errs []error
	for name := range cfg.ClientConfig.Headers.Iter {
		switch strings.ToLower(name) {
		case "authorization":
			errs = append(errs, fmt.Errorf("headers: %s: the exporter sends the agent key in Authorization itself (set api_key or agent_keys); this header would replace it", name))
		case "content-type":
			errs = append(errs, fmt.Errorf("headers: %s: the exporter sets Content-Type itself (application/json); this header would replace it", name))
		}
	}
	if cfg.ClientConfig.Auth.HasValue() {
		errs = append(errs, errors.New("auth: not supported: an authenticator would replace the agent key the exporter sends in Authorization (set api_key or agent_keys)"))
	}
	if c := cfg.ClientConfig.Compression; c.IsCompressed() {
		errs = append(errs, fmt.Errorf("compression: %q is not supported: AgentOS does not document compressed request bodies; leave it unset or none", string(c)))
	}
	return errs
}

// validateQueue refuses sending queues that would reorder batches or
// acknowledge them before they are durable.
func (cfg *Config) validateQueue() []error {
	q := cfg.QueueConfig.Get()
	if q == nil {
		return nil
	}
	var errs []error
	if q.NumConsumers > 1 {
		errs = append(errs, fmt.Errorf("sending_queue::num_consumers: must be 1, not %d: concurrent consumers hand batches to the exporter out of order, so a run's root can overtake its children and they arrive after the run closed", q.NumConsumers))
	}
	if cfg.Storage != nil && q.StorageID == nil {
		errs = append(errs, fmt.Errorf("sending_queue::storage: required with storage (set it to %s, or disable the sending queue): an in-memory queue acknowledges batches that a crash then loses", cfg.Storage))
	}
	return errs
}

// defaults the Collector shows in its effective configuration.
func defaultTiming() TimingConfig {
	return TimingConfig{
		MaxWait:       runtracker.DefaultMaxWait,
		GracePeriod:   runtracker.DefaultGrace,
		OrphanTimeout: runtracker.DefaultOrphanTimeout,
	}
}

func defaultLimits() LimitsConfig {
	return LimitsConfig{
		MaxSpansPerTrace: runtracker.DefaultMaxSpansPerTrace,
		MaxHeldSpans:     runtracker.DefaultMaxHeldSpans,
		MaxOpenRuns:      runtracker.DefaultMaxOpenRuns,
		MaxBufferedBytes: pipeline.DefaultMaxBufferedBytes,
		MaxBatchEvents:   ingest.DefaultMaxBatchEvents,
		MaxRequestBytes:  ingest.DefaultMaxBodyBytes,
		MaxStoredBytes:   journal.DefaultMaxBytes,
	}
}
