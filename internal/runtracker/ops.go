package runtracker

import (
	"unsafe"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// RunKey names a run before AgentOS has given it a run_id.
type RunKey uint64

// OpKind is the ingest call an Op stands for.
type OpKind uint8

// Operation kinds, in the order a run's ops are emitted.
const (
	OpStart OpKind = iota + 1
	OpEvents
	OpTask
	OpClose
)

func (k OpKind) String() string {
	switch k {
	case OpStart:
		return "run/start"
	case OpEvents:
		return "events"
	case OpTask:
		return "tasks"
	case OpClose:
		return "close"
	}
	return "unknown"
}

// Op is one ingest call for one run. The ops of a run are emitted in the
// order they must be sent: start, events and tasks, then exactly one close.
type Op struct {
	Run     RunKey
	Kind    OpKind
	AgentID string
	TraceID spans.TraceID              // OpStart: the run's trace
	Start   agentosapi.StartRunRequest // OpStart; run_id is filled in by delivery
	// RunIndex (OpStart) is the run's position among its trace's runs:
	// the same spans added in the same order give the same index, so a
	// journal can find the run again after a restart.
	RunIndex int
	// RunID (OpStart), when set, is the id of a run that already exists
	// in AgentOS (recovered from a journal): delivery adopts it instead of
	// sending run/start.
	RunID  string
	Events []agentosapi.Event // OpEvents, in timeline order
	Task   agentosapi.Task    // OpTask
	Close  mapping.Close      // OpClose
}

// Stats counts what the tracker did and what it dropped, and what it holds.
type Stats struct {
	RunsStarted     int64 `json:"runs_started"`
	RunsCompleted   int64 `json:"runs_completed"`
	RunsFailed      int64 `json:"runs_failed"`
	RunsEvicted     int64 `json:"runs_evicted"`  // closed because a bound was reached
	RunsOrphaned    int64 `json:"runs_orphaned"` // started without their root
	SpansAccepted   int64 `json:"spans_accepted"`
	SpansLate       int64 `json:"spans_late"`       // arrived after their run closed
	SpansUnselected int64 `json:"spans_unselected"` // their run root was not selected
	SpansNoAgent    int64 `json:"spans_no_agent"`   // no valid agent id for their run
	SpansDuplicate  int64 `json:"spans_duplicate"`
	SpansNoRun      int64 `json:"spans_no_run"` // live: no run root started before them
	EventsEmitted   int64 `json:"events_emitted"`

	HeldSpans  int   `json:"held_spans"`  // now held waiting for a root
	OpenTraces int   `json:"open_traces"` // now tracked
	Bytes      int64 `json:"bytes"`       // estimated, held spans and pending events
}

// opSize is the fixed part of an Op and eventSize of an event, so that
// Size follows the structs.
var (
	opSize    = int64(unsafe.Sizeof(Op{}))
	eventSize = int64(unsafe.Sizeof(agentosapi.Event{}))
)

// Size estimates the bytes an op holds while it waits for delivery.
func (op *Op) Size() int64 {
	n := opSize + int64(len(op.AgentID))
	switch op.Kind {
	case OpStart:
		n += int64(len(op.Start.Input) + len(op.Start.ExternalRunID) + len(op.Start.AgentID) + len(op.Start.TriggerType))
	case OpEvents:
		for i := range op.Events {
			e := &op.Events[i]
			n += eventSize + int64(len(e.Type)+len(e.Level)+len(e.Payload)+len(e.OccurredAt))
		}
	case OpTask:
		n += int64(len(op.Task.ID) + len(op.Task.Name) + len(op.Task.Input))
	case OpClose:
		n += int64(len(op.Close.Output) + len(op.Close.ErrorMessage) + len(op.Close.ErrorDetail))
	}
	return n
}
