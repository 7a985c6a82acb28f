package agentosapi

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// ErrInvalid marks a request that breaks the documented API.
var ErrInvalid = errors.New("invalid request")

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsUUID reports whether s is a UUID in its canonical textual form.
func IsUUID(s string) bool { return uuidPattern.MatchString(s) }

// ValidTrigger reports whether t is a documented trigger type.
func ValidTrigger(t string) bool {
	switch t {
	case TriggerManual, TriggerScheduled, TriggerWebhook, TriggerSDK:
		return true
	}
	return false
}

// ValidLevel reports whether l is a documented event level.
func ValidLevel(l string) bool {
	switch l {
	case LevelDebug, LevelInfo, LevelWarn, LevelError:
		return true
	}
	return false
}

// LevelRank orders levels by severity; unknown levels rank -1.
func LevelRank(l string) int {
	switch l {
	case LevelDebug:
		return 0
	case LevelInfo, "":
		return 1
	case LevelWarn:
		return 2
	case LevelError:
		return 3
	}
	return -1
}

// ValidTaskStatus reports whether s is a documented task status.
func ValidTaskStatus(s string) bool {
	switch s {
	case TaskPending, TaskRunning, TaskCompleted, TaskFailed, TaskSkipped:
		return true
	}
	return false
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

func isObject(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) >= 2 && raw[0] == '{' && raw[len(raw)-1] == '}'
}

// Validate checks a run/start body.
func (r *StartRunRequest) Validate() error {
	if !IsUUID(r.AgentID) {
		return invalid("agent_id must be a uuid")
	}
	if r.TriggerType != "" && !ValidTrigger(r.TriggerType) {
		return invalid("trigger_type %q is not one of manual, scheduled, webhook, sdk", r.TriggerType)
	}
	if r.Input != nil && !isObject(r.Input) {
		return invalid("input must be an object")
	}
	return nil
}

// Validate checks an events body.
func (r *EventsRequest) Validate() error {
	if !IsUUID(r.RunID) {
		return invalid("run_id must be a uuid")
	}
	if len(r.Events) == 0 {
		return invalid("events must not be empty")
	}
	for i := range r.Events {
		if err := r.Events[i].Validate(); err != nil {
			return fmt.Errorf("events[%d]: %w", i, err)
		}
	}
	return nil
}

// Validate checks one event.
func (e *Event) Validate() error {
	if e.Type == "" {
		return invalid("type is required")
	}
	if e.Level != "" && !ValidLevel(e.Level) {
		return invalid("level %q is not one of debug, info, warn, error", e.Level)
	}
	if e.Payload != nil && !isObject(e.Payload) {
		return invalid("payload must be an object")
	}
	if e.OccurredAt != "" {
		if _, err := time.Parse(time.RFC3339Nano, e.OccurredAt); err != nil {
			return invalid("occurred_at %q is not an ISO 8601 timestamp", e.OccurredAt)
		}
	}
	return nil
}

// Validate checks a run/complete body.
func (r *CompleteRunRequest) Validate() error {
	if !IsUUID(r.RunID) {
		return invalid("run_id must be a uuid")
	}
	if r.Output != nil && !isObject(r.Output) {
		return invalid("output must be an object")
	}
	return nil
}

// Validate checks a run/fail body.
func (r *FailRunRequest) Validate() error {
	if !IsUUID(r.RunID) {
		return invalid("run_id must be a uuid")
	}
	if r.ErrorMessage == "" {
		return invalid("error_message is required")
	}
	if r.ErrorDetail != nil && !isObject(r.ErrorDetail) {
		return invalid("error_detail must be an object")
	}
	return nil
}

// Validate checks a tasks body.
func (r *TaskRequest) Validate() error {
	if !IsUUID(r.RunID) {
		return invalid("run_id must be a uuid")
	}
	if !IsUUID(r.Task.ID) {
		return invalid("task.id must be a uuid")
	}
	if r.Task.Name == "" {
		return invalid("task.name is required")
	}
	if !ValidTaskStatus(r.Task.Status) {
		return invalid("task.status %q is not one of pending, running, completed, failed, skipped", r.Task.Status)
	}
	if r.Task.Input != nil && !isObject(r.Task.Input) {
		return invalid("task.input must be an object")
	}
	return nil
}
