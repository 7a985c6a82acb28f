package agentosapi

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// ErrInvalid marks a request that breaks the documented API.
var ErrInvalid = errors.New("invalid request")

// IsUUID reports whether s is a UUID in its canonical textual form,
// 8-4-4-4-12 hex digits of either case. Every request checks one or two.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

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
		if !ValidTimestamp(e.OccurredAt) {
			return invalid("occurred_at %q is not an ISO 8601 timestamp", e.OccurredAt)
		}
	}
	return nil
}

// ValidTimestamp reports whether s is an RFC 3339 timestamp, as
// time.Parse(time.RFC3339Nano) accepts them. Every event carries one, so
// the layout the mapping writes (UTC, nanoseconds) is checked by hand and
// only other layouts are parsed.
func ValidTimestamp(s string) bool {
	const layout = "0000-00-00T00:00:00.000000000Z"
	if len(s) != len(layout) {
		_, err := time.Parse(time.RFC3339Nano, s)
		return err == nil
	}
	n := 0 // the digits read since the last separator, as a number
	var fields [6]int
	field := 0
	for i := range len(layout) {
		c := s[i]
		if layout[i] != '0' {
			if c != layout[i] {
				_, err := time.Parse(time.RFC3339Nano, s)
				return err == nil
			}
			if field < len(fields) {
				fields[field], n = n, 0
				field++
			}
			continue
		}
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	year, month, day, hour, minute, sec := fields[0], fields[1], fields[2], fields[3], fields[4], fields[5]
	return month >= 1 && month <= 12 && day >= 1 && day <= daysIn(month, year) &&
		hour <= 23 && minute <= 59 && sec <= 59
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
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
