package agentosapi

import (
	"encoding/json"
)

// Ingest endpoint paths, relative to the base URL.
const (
	PathRunStart    = "/api/ingest/v1/run/start"
	PathEvents      = "/api/ingest/v1/events"
	PathRunComplete = "/api/ingest/v1/run/complete"
	PathRunFail     = "/api/ingest/v1/run/fail"
	PathTasks       = "/api/ingest/v1/tasks"
)

// DefaultBaseURL is the hosted AgentOS.
const DefaultBaseURL = "https://agentos-ai.dev"

// Trigger types accepted by run/start.
const (
	TriggerManual    = "manual"
	TriggerScheduled = "scheduled"
	TriggerWebhook   = "webhook"
	TriggerSDK       = "sdk"
)

// Event levels, in increasing severity.
const (
	LevelDebug = "debug"
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"
)

// Task statuses.
const (
	TaskPending   = "pending"
	TaskRunning   = "running"
	TaskCompleted = "completed"
	TaskFailed    = "failed"
	TaskSkipped   = "skipped"
)

// StartRunRequest is the body of run/start.
type StartRunRequest struct {
	AgentID       string          `json:"agent_id"`
	TriggerType   string          `json:"trigger_type,omitempty"`
	Input         json.RawMessage `json:"input,omitempty"`
	ExternalRunID string          `json:"external_run_id,omitempty"`
}

// StartRunResponse is the data of a successful run/start.
type StartRunResponse struct {
	RunID string `json:"run_id"`
}

// Event is one timeline event. Payload is a JSON object, already encoded so
// that the client can size requests without encoding twice.
type Event struct {
	Type       string          `json:"type"`
	Level      string          `json:"level,omitempty"`
	Payload    json.RawMessage `json:"payload,omitempty"`
	OccurredAt string          `json:"occurred_at,omitempty"`
}

// EventsRequest is the body of events.
type EventsRequest struct {
	RunID  string  `json:"run_id"`
	Events []Event `json:"events"`
}

// CompleteRunRequest is the body of run/complete.
type CompleteRunRequest struct {
	RunID  string          `json:"run_id"`
	Output json.RawMessage `json:"output,omitempty"`
}

// FailRunRequest is the body of run/fail.
type FailRunRequest struct {
	RunID        string          `json:"run_id"`
	ErrorMessage string          `json:"error_message"`
	ErrorDetail  json.RawMessage `json:"error_detail,omitempty"`
}

// Task is a named unit of work inside a run.
type Task struct {
	ID     string          `json:"id"`
	Name   string          `json:"name"`
	Status string          `json:"status"`
	Input  json.RawMessage `json:"input,omitempty"`
}

// TaskRequest is the body of tasks.
type TaskRequest struct {
	RunID string `json:"run_id"`
	Task  Task   `json:"task"`
}

// Envelope is the shape of every response.
type Envelope struct {
	Data  json.RawMessage `json:"data"`
	Error *ErrorBody      `json:"error"`
}

// ErrorBody is the error part of an envelope. The hosted API documents only
// that error is non-null on failure, so UnmarshalJSON also accepts a bare
// string.
type ErrorBody struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
}

// UnmarshalJSON accepts {"code","message"} or a plain string.
func (e *ErrorBody) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		e.Message = s
		return nil
	}
	type plain ErrorBody
	return json.Unmarshal(b, (*plain)(e))
}
