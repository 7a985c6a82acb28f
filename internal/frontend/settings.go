package frontend

import (
	"regexp"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/ingest"
	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/pipeline"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
)

// Settings are the settings both front ends offer, in the core's units.
// Zero values keep the core's defaults.
type Settings struct {
	Endpoint      string // the AgentOS base URL
	AllowInsecure bool
	APIKey        string
	AgentKeys     map[string]string
	AgentID       string
	TriggerType   string

	SelectorMode    string
	SelectorPattern string
	Redaction       Redaction
	MinLevel        string
	MaxStringLength int
	Tasks           bool

	RemoteParentIsRoot bool
	Concurrency        int
	Retry              Retry
	Limits             Limits
	Timing             Timing
}

// Redaction masks (or drops) attributes by name or pattern.
type Redaction struct {
	Attributes []string
	Patterns   []*regexp.Regexp
	Drop       bool
}

// Limits bound memory and request sizes.
type Limits struct {
	MaxSpansPerTrace int
	MaxHeldSpans     int
	MaxOpenRuns      int
	MaxBufferedBytes int64
	MaxBatchEvents   int
	MaxRequestBytes  int
}

// Timing sets the tracker's waits.
type Timing struct {
	MaxWait        time.Duration
	GracePeriod    time.Duration
	OrphanTimeout  time.Duration
	MaxRunDuration time.Duration // the live processor's only
}

// PipelineConfig converts s to the core's configuration. It fails only
// on the run selector, with the selector's error for the caller to name
// in its own terms; the core checks the rest when it starts.
func (s *Settings) PipelineConfig() (pipeline.Config, error) {
	sel, err := mapping.NewSelector(s.SelectorMode, s.SelectorPattern)
	if err != nil {
		return pipeline.Config{}, err
	}
	return pipeline.Config{
		Ingest: ingest.Config{
			BaseURL:        s.Endpoint,
			AllowInsecure:  s.AllowInsecure,
			DefaultKey:     s.APIKey,
			AgentKeys:      s.AgentKeys,
			MaxBodyBytes:   s.Limits.MaxRequestBytes,
			MaxBatchEvents: s.Limits.MaxBatchEvents,
			Retry:          s.Retry.Policy(),
		},
		Mapping: mapping.Options{
			DefaultAgentID: s.AgentID,
			DefaultTrigger: s.TriggerType,
			Selector:       sel,
			MaxStringLen:   s.MaxStringLength,
			Redaction:      mapping.Redaction{Names: s.Redaction.Attributes, Patterns: s.Redaction.Patterns, Drop: s.Redaction.Drop},
			MinLevel:       s.MinLevel,
			Tasks:          s.Tasks,
		},
		Tracker: runtracker.Options{
			MaxWait:            s.Timing.MaxWait,
			Grace:              s.Timing.GracePeriod,
			OrphanTimeout:      s.Timing.OrphanTimeout,
			MaxRunDuration:     s.Timing.MaxRunDuration,
			MaxSpansPerTrace:   s.Limits.MaxSpansPerTrace,
			MaxHeldSpans:       s.Limits.MaxHeldSpans,
			MaxOpenRuns:        s.Limits.MaxOpenRuns,
			RemoteParentIsRoot: s.RemoteParentIsRoot,
		},
		Concurrency:      s.Concurrency,
		MaxBufferedBytes: s.Limits.MaxBufferedBytes,
	}, nil
}

// Retry is a retry policy as a front end states it; zero fields keep the
// ingest client's defaults, and Enabled is taken as it is, so retries
// turned off stay off.
type Retry struct {
	Enabled             bool
	InitialInterval     time.Duration
	MaxInterval         time.Duration
	Multiplier          float64
	RandomizationFactor float64
	MaxElapsedTime      time.Duration
}

// Policy is the ingest client's policy for r.
func (r Retry) Policy() ingest.RetryPolicy {
	p := ingest.DefaultRetryPolicy()
	p.Enabled = r.Enabled
	if r.InitialInterval != 0 {
		p.InitialInterval = r.InitialInterval
	}
	if r.MaxInterval != 0 {
		p.MaxInterval = r.MaxInterval
	}
	if r.Multiplier != 0 {
		p.Multiplier = r.Multiplier
	}
	if r.RandomizationFactor != 0 {
		p.RandomizationFactor = r.RandomizationFactor
	}
	if r.MaxElapsedTime != 0 {
		p.MaxElapsedTime = r.MaxElapsedTime
	}
	return p
}
