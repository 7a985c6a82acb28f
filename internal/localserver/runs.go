package localserver

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

// Run statuses.
const (
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
)

// Run is a run as the server recorded it. Bodies are kept as sent:
// defaults other than trigger_type (such as an event's level) are not
// filled in.
type Run struct {
	ID, AgentID, TriggerType, ExternalRunID string
	Input                                   json.RawMessage
	Status                                  string // StatusRunning, StatusCompleted or StatusFailed
	Output                                  json.RawMessage
	ErrorMessage                            string
	ErrorDetail                             json.RawMessage
	Events                                  []RecordedEvent   // in received order
	Tasks                                   []agentosapi.Task // latest body per task id, in first-seen order
	StartedAt, EndedAt                      time.Time         // server receipt times (Options.Now)
}

// RecordedEvent is an event with what the server adds on receipt.
type RecordedEvent struct {
	agentosapi.Event
	SequenceNumber int64 // 1-based, per run, in received order
	ReceivedAt     time.Time
}

// Stats counts requests and responses.
type Stats struct {
	Requests map[string]int // every request received, by path
	Status   map[int]int    // responses by status code; a client that left gets none
	Rejected int            // responses with a 4xx or 5xx status
}

func newStats() Stats { return Stats{Requests: map[string]int{}, Status: map[int]int{}} }

// Runs returns a deep copy of every run, in run/start order. A store that
// fails is logged and yields no runs.
func (s *Server) Runs() []Run {
	runs, err := s.store.Runs()
	if err != nil {
		s.log.Error("reading runs", slog.Any("error", err))
	}
	return runs
}

// Run returns a deep copy of the run with id.
func (s *Server) Run(id string) (Run, bool) {
	r, ok, err := s.store.Run(strings.ToLower(id))
	if err != nil {
		s.log.Error("reading a run", slog.String("run_id", id), slog.Any("error", err))
	}
	return r, ok
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Requests: maps.Clone(s.stats.Requests), Status: maps.Clone(s.stats.Status), Rejected: s.stats.Rejected}
}

// Reset forgets runs (in the store too) and stats. Agents, faults and Hang
// stay as they are.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.store.Reset(); err != nil {
		s.log.Error("resetting the store", slog.Any("error", err))
	}
	s.stats = newStats()
}

// apply records a valid request sent with agent's key. Decoded bodies are
// not shared with anyone, so the run may keep their slices.
func (s *Server) apply(agent string, req any) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Stamped under the lock, so receipt times follow sequence numbers.
	now := s.now()
	switch req := req.(type) {
	case *agentosapi.StartRunRequest:
		return s.start(agent, req, now)
	case *agentosapi.EventsRequest:
		run, err := s.openRun(agent, req.RunID)
		if err != nil {
			return nil, err
		}
		events := make([]RecordedEvent, len(req.Events))
		for i, e := range req.Events {
			events[i] = RecordedEvent{Event: e, SequenceNumber: int64(run.EventCount + i + 1), ReceivedAt: now}
		}
		if err := s.store.AppendEvents(run.ID, events); err != nil {
			return nil, s.storeFailed(err)
		}
		return map[string]int{"accepted": len(req.Events)}, nil
	case *agentosapi.CompleteRunRequest:
		run, err := s.openRun(agent, req.RunID)
		if err != nil {
			return nil, err
		}
		if err := s.store.Update(run.ID, func(r *Run) {
			r.Status, r.Output, r.EndedAt = StatusCompleted, req.Output, now
		}); err != nil {
			return nil, s.storeFailed(err)
		}
		return map[string]string{"run_id": run.ID, "status": StatusCompleted}, nil
	case *agentosapi.FailRunRequest:
		run, err := s.openRun(agent, req.RunID)
		if err != nil {
			return nil, err
		}
		if err := s.store.Update(run.ID, func(r *Run) {
			r.Status, r.ErrorMessage, r.ErrorDetail, r.EndedAt = StatusFailed, req.ErrorMessage, req.ErrorDetail, now
		}); err != nil {
			return nil, s.storeFailed(err)
		}
		return map[string]string{"run_id": run.ID, "status": StatusFailed}, nil
	case *agentosapi.TaskRequest:
		run, err := s.openRun(agent, req.RunID)
		if err != nil {
			return nil, err
		}
		if err := s.store.PutTask(run.ID, req.Task); err != nil {
			return nil, s.storeFailed(err)
		}
		return map[string]string{"task_id": req.Task.ID, "status": req.Task.Status}, nil
	}
	return nil, reject(http.StatusInternalServerError, "internal", "unhandled request type %T", req)
}

// storeFailed is the answer to a valid request the store could not record.
func (s *Server) storeFailed(err error) *apiError {
	s.log.Error("storing a run", slog.Any("error", err))
	return reject(http.StatusInternalServerError, "internal", "storing the run: %v", err)
}

func (s *Server) start(agent string, req *agentosapi.StartRunRequest, now time.Time) (any, *apiError) {
	// UUIDs compare case-insensitively, as a database uuid column would.
	if !strings.EqualFold(req.AgentID, agent) {
		return nil, reject(http.StatusForbidden, "forbidden", "this key belongs to another agent than agent_id %s", req.AgentID)
	}
	trigger := req.TriggerType
	if trigger == "" {
		trigger = agentosapi.TriggerSDK
	}
	run := Run{ID: newUUID(), AgentID: agent, TriggerType: trigger, ExternalRunID: req.ExternalRunID,
		Input: req.Input, Status: StatusRunning, StartedAt: now}
	if err := s.store.Add(run); err != nil {
		return nil, s.storeFailed(err)
	}
	return agentosapi.StartRunResponse{RunID: run.ID}, nil
}

// openRun finds a run that agent may write to and that is still running.
func (s *Server) openRun(agent, id string) (RunSummary, *apiError) {
	run, ok, err := s.store.Summary(strings.ToLower(id))
	switch {
	case err != nil:
		return RunSummary{}, s.storeFailed(err)
	case !ok:
		return RunSummary{}, reject(http.StatusNotFound, "run_not_found", "run %s not found", id)
	case !strings.EqualFold(run.AgentID, agent):
		return RunSummary{}, reject(http.StatusForbidden, "forbidden", "run %s belongs to another agent than this key's", id)
	case run.Status != StatusRunning:
		return RunSummary{}, reject(http.StatusConflict, "run_closed", "run %s is already %s", id, run.Status)
	}
	return run, nil
}

// newUUID returns a random (version 4) UUID in lower case.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
