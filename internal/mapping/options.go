package mapping

import (
	"fmt"
	"regexp"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/configerr"
)

// SelectorMode names which root spans become runs.
type SelectorMode string

// Selector modes.
const (
	SelectAll         SelectorMode = "all"          // every run root
	SelectInvokeAgent SelectorMode = "invoke_agent" // roots with gen_ai.operation.name = invoke_agent
	SelectNamePattern SelectorMode = "name_pattern" // roots whose name matches Pattern
	SelectHasAgentID  SelectorMode = "has_agent_id" // roots that carry agentos.agent_id
)

// Selector decides whether a run root becomes an AgentOS run.
type Selector struct {
	Mode    SelectorMode
	Pattern *regexp.Regexp
}

// NewSelector builds a Selector from its configured mode and pattern; an
// empty mode means all. Errors name the offending setting.
func NewSelector(mode, pattern string) (Selector, error) {
	switch SelectorMode(mode) {
	case "", SelectAll:
		return Selector{Mode: SelectAll}, nil
	case SelectInvokeAgent, SelectHasAgentID:
		return Selector{Mode: SelectorMode(mode)}, nil
	case SelectNamePattern:
		if pattern == "" {
			return Selector{}, fmt.Errorf("run selector %q needs a pattern", mode)
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return Selector{}, fmt.Errorf("run selector pattern %q: %w", pattern, err)
		}
		return Selector{Mode: SelectNamePattern, Pattern: re}, nil
	}
	return Selector{}, fmt.Errorf("run selector mode %q is not one of all, invoke_agent, name_pattern, has_agent_id", mode)
}

// Options configure the mapping from spans to AgentOS requests.
type Options struct {
	// DefaultAgentID is used when neither span nor resource name one.
	DefaultAgentID string
	// DefaultTrigger is the trigger_type when agentos.trigger_type is absent
	// or invalid; empty means sdk.
	DefaultTrigger string
	Selector       Selector
	// MaxStringLen truncates longer strings (in bytes, at a rune boundary)
	// with a marker; 0 means DefaultMaxStringLen.
	MaxStringLen int
	Redaction    Redaction
	// MinLevel drops events below this level; empty means debug (keep all).
	MinLevel string
	// Tasks also maps tool, agent and step spans to AgentOS tasks.
	Tasks bool
}

// DefaultMaxStringLen keeps a single attribute well below request limits.
const DefaultMaxStringLen = 16 << 10

// Redaction masks or drops attributes by exact name or by pattern.
type Redaction struct {
	Names    []string
	Patterns []*regexp.Regexp
	// Drop removes matching attributes instead of masking their values.
	Drop bool
}

// Validate reports the first invalid option as a *configerr.FieldError
// naming the field ("Mapping.MinLevel"), for each front end to render with
// its own name for the setting.
func (o *Options) Validate() error {
	field := func(name, format string, args ...any) error {
		return &configerr.FieldError{Field: "Mapping." + name, Err: fmt.Errorf(format, args...)}
	}
	if o.DefaultAgentID != "" && !agentosapi.IsUUID(o.DefaultAgentID) {
		return field("DefaultAgentID", "%q is not a uuid", o.DefaultAgentID)
	}
	if o.DefaultTrigger != "" && !agentosapi.ValidTrigger(o.DefaultTrigger) {
		return field("DefaultTrigger", "%q is not one of manual, scheduled, webhook, sdk", o.DefaultTrigger)
	}
	if o.MinLevel != "" && !agentosapi.ValidLevel(o.MinLevel) {
		return field("MinLevel", "%q is not one of debug, info, warn, error", o.MinLevel)
	}
	if o.MaxStringLen < 0 {
		return field("MaxStringLen", "must not be negative")
	}
	return nil
}
