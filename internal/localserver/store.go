package localserver

import (
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

// Store keeps the runs a Server records. The Server checks every rule and
// serialises its writes; a Store only records, and must be safe for
// concurrent use so that readers (a web page, say) need not go through the
// Server. Run ids are passed in lower case.
type Store interface {
	// Add records a new run, which has no events yet.
	Add(run Run) error
	// Summary returns the run with id without its events and tasks.
	Summary(id string) (RunSummary, bool, error)
	// AppendEvents adds events at the end of the run's timeline.
	AppendEvents(id string, events []RecordedEvent) error
	// Update changes the fields of the run other than Events.
	Update(id string, change func(*Run)) error
	// Run returns a deep copy of the run with id.
	Run(id string) (Run, bool, error)
	// Runs returns deep copies of every run, in the order they were added.
	Runs() ([]Run, error)
	// Summaries returns every run without its events, in the order they
	// were added.
	Summaries() ([]RunSummary, error)
	// Reset forgets every run.
	Reset() error
	// Close releases the store. Other methods must not be called after it.
	Close() error
}

// ErrUnknownRun is returned by a Store asked to change a run it does not
// hold.
var ErrUnknownRun = errors.New("localserver: unknown run")

// RunSummary is a run without its events, for listings.
type RunSummary struct {
	ID, AgentID, TriggerType, ExternalRunID string
	Status                                  string
	ErrorMessage                            string
	EventCount                              int
	StartedAt, EndedAt                      time.Time // server receipt times
	// The earliest and latest Time of the run's events; zero without events.
	FirstEventAt, LastEventAt time.Time
}

// Time is when the event happened: its occurred_at, or without one (or
// with one the server cannot read) the time the server received it, as
// AgentOS stamps events that carry none.
func (e RecordedEvent) Time() time.Time {
	if e.OccurredAt != "" {
		if t, err := time.Parse(time.RFC3339Nano, e.OccurredAt); err == nil {
			return t
		}
	}
	return e.ReceivedAt
}

func summarize(r *Run) RunSummary {
	return RunSummary{ID: r.ID, AgentID: r.AgentID, TriggerType: r.TriggerType, ExternalRunID: r.ExternalRunID,
		Status: r.Status, ErrorMessage: r.ErrorMessage, StartedAt: r.StartedAt, EndedAt: r.EndedAt}
}

// widen extends the summary's event span and count by events.
func (s *RunSummary) widen(events []RecordedEvent) {
	for _, e := range events {
		t := e.Time()
		if s.FirstEventAt.IsZero() || t.Before(s.FirstEventAt) {
			s.FirstEventAt = t
		}
		if t.After(s.LastEventAt) {
			s.LastEventAt = t
		}
	}
	s.EventCount += len(events)
}

// NewMemoryStore returns a Store that keeps runs in memory only, the
// default of New.
func NewMemoryStore() Store { return &memoryStore{runs: map[string]*memoryRun{}} }

type memoryStore struct {
	mu    sync.RWMutex
	runs  map[string]*memoryRun
	order []*memoryRun
}

type memoryRun struct {
	run  Run
	span RunSummary // only the event count and span are kept up to date
}

func (m *memoryStore) Add(run Run) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := &memoryRun{run: run}
	m.runs[run.ID] = r
	m.order = append(m.order, r)
	return nil
}

func (m *memoryStore) Summary(id string) (RunSummary, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	r, ok := m.runs[id]
	if !ok {
		return RunSummary{}, false, nil
	}
	return r.summary(), true, nil
}

func (r *memoryRun) summary() RunSummary {
	s := summarize(&r.run)
	s.EventCount, s.FirstEventAt, s.LastEventAt = r.span.EventCount, r.span.FirstEventAt, r.span.LastEventAt
	return s
}

func (m *memoryStore) AppendEvents(id string, events []RecordedEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.runs[id]
	if !ok {
		return ErrUnknownRun
	}
	r.run.Events = append(r.run.Events, events...)
	r.span.widen(events)
	return nil
}

func (m *memoryStore) Update(id string, change func(*Run)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.runs[id]
	if !ok {
		return ErrUnknownRun
	}
	events := r.run.Events
	change(&r.run)
	r.run.Events = events
	return nil
}

func (m *memoryStore) Run(id string) (Run, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	r, ok := m.runs[id]
	if !ok {
		return Run{}, false, nil
	}
	return r.run.clone(), true, nil
}

func (m *memoryStore) Runs() ([]Run, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Run, len(m.order))
	for i, r := range m.order {
		out[i] = r.run.clone()
	}
	return out, nil
}

func (m *memoryStore) Summaries() ([]RunSummary, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]RunSummary, len(m.order))
	for i, r := range m.order {
		out[i] = r.summary()
	}
	return out, nil
}

func (m *memoryStore) Reset() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.runs, m.order = map[string]*memoryRun{}, nil
	return nil
}

func (m *memoryStore) Close() error { return nil }

// clone is a deep copy, so callers never share a run's slices with a
// store.
func (r *Run) clone() Run {
	c := *r
	c.Input = slices.Clone(r.Input)
	c.Output = slices.Clone(r.Output)
	c.ErrorDetail = slices.Clone(r.ErrorDetail)
	c.Events = make([]RecordedEvent, len(r.Events))
	for i, e := range r.Events {
		e.Payload = slices.Clone(e.Payload)
		c.Events[i] = e
	}
	c.Tasks = make([]agentosapi.Task, len(r.Tasks))
	for i, t := range r.Tasks {
		t.Input = slices.Clone(t.Input)
		c.Tasks[i] = t
	}
	return c
}
