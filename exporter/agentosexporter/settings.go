package agentosexporter

import (
	"fmt"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/mapping"
)

// TriggerType is the trigger_type of runs whose root span names none:
// manual, scheduled, webhook or sdk. Empty means sdk.
type TriggerType string

// UnmarshalText refuses a value AgentOS would not accept.
func (t *TriggerType) UnmarshalText(text []byte) error {
	if len(text) > 0 && !agentosapi.ValidTrigger(string(text)) {
		return fmt.Errorf("%q is not one of manual, scheduled, webhook, sdk", text)
	}
	*t = TriggerType(text)
	return nil
}

// Level is the least level of the events sent: debug, info, warn or error.
// Empty means debug (every event).
type Level string

// UnmarshalText refuses a value that is not an AgentOS event level.
func (l *Level) UnmarshalText(text []byte) error {
	if len(text) > 0 && !agentosapi.ValidLevel(string(text)) {
		return fmt.Errorf("%q is not one of debug, info, warn, error", text)
	}
	*l = Level(text)
	return nil
}

// RunSelectorMode says which root spans become runs: all, invoke_agent,
// name_pattern (with run_selector::pattern) or has_agent_id. Empty means all.
type RunSelectorMode string

// UnmarshalText refuses an unknown mode.
func (m *RunSelectorMode) UnmarshalText(text []byte) error {
	switch mapping.SelectorMode(text) {
	case "", mapping.SelectAll, mapping.SelectInvokeAgent, mapping.SelectNamePattern, mapping.SelectHasAgentID:
		*m = RunSelectorMode(text)
		return nil
	}
	return fmt.Errorf("%q is not one of all, invoke_agent, name_pattern, has_agent_id", text)
}
