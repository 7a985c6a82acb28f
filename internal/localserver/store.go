package localserver

import (
	"errors"
	"slices"
	"strings"
	"sync"

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
	// PutTask records task in the run's Tasks: in place of the task with
	// the same id (compared case-insensitively), or at the end.
	PutTask(id string, task agentosapi.Task) error
	// Run returns a deep copy of the run with id.
	Run(id string) (Run, bool, error)
	// Head returns a deep copy of the run with id without its events.
	Head(id string) (Run, bool, error)
	// Events returns up to limit events of the run with id, from sequence
	// number from on.
	Events(id string, from int64, limit int) ([]RecordedEvent, error)
	// Runs returns deep copies of every run, in the order they were added.
	Runs() ([]Run, error)
	// Summaries returns every run without its events, in the order they
	// were added.
	Summaries() ([]RunSummary, error)
	// List returns a page of summaries, as q asks. It reads no run's
	// input, output or events.
	List(q Query) (Listing, error)
	// Version changes whenever a run is added or changed, so a page can
	// tell cheaply whether it is out of date.
	Version() uint64
	// Reset forgets every run.
	Reset() error
	// Close releases the store. Other methods must not be called after it.
	Close() error
}

// ErrUnknownRun is returned by a Store asked to change a run it does not
// hold.
var ErrUnknownRun = errors.New("localserver: unknown run")

// NewMemoryStore returns a Store that keeps runs in memory only, the
// default of New.
func NewMemoryStore() Store { return &memoryStore{runs: map[string]*memoryRun{}} }

type memoryStore struct {
	mu      sync.RWMutex
	runs    map[string]*memoryRun
	order   []*memoryRun
	version uint64
}

type memoryRun struct {
	run     Run
	summary RunSummary
	text    string // searchText
}

func (m *memoryStore) Add(run Run) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := &memoryRun{run: run, summary: summarize(&run), text: searchText(&run)}
	m.runs[run.ID] = r
	m.order = append(m.order, r)
	m.version++
	return nil
}

func (m *memoryStore) Summary(id string) (RunSummary, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	r, ok := m.runs[id]
	if !ok {
		return RunSummary{}, false, nil
	}
	return r.summary, true, nil
}

func (m *memoryStore) AppendEvents(id string, events []RecordedEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.runs[id]
	if !ok {
		return ErrUnknownRun
	}
	r.run.Events = append(r.run.Events, events...)
	r.summary.widen(events)
	m.version++
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
	r.summary.refresh(&r.run)
	r.text = searchText(&r.run)
	m.version++
	return nil
}

func (m *memoryStore) PutTask(id string, task agentosapi.Task) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.runs[id]
	if !ok {
		return ErrUnknownRun
	}
	r.run.Tasks = putTask(r.run.Tasks, task)
	m.version++
	return nil
}

// putTask is tasks with task in place of the one with its id, or added.
func putTask(tasks []agentosapi.Task, task agentosapi.Task) []agentosapi.Task {
	i := slices.IndexFunc(tasks, func(t agentosapi.Task) bool { return strings.EqualFold(t.ID, task.ID) })
	if i < 0 {
		return append(tasks, task)
	}
	tasks[i] = task
	return tasks
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

func (m *memoryStore) Head(id string) (Run, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	r, ok := m.runs[id]
	if !ok {
		return Run{}, false, nil
	}
	head := r.run
	head.Events = nil
	return head.clone(), true, nil
}

func (m *memoryStore) Events(id string, from int64, limit int) ([]RecordedEvent, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	r, ok := m.runs[id]
	if !ok {
		return nil, ErrUnknownRun
	}
	events := r.run.Events
	// Sequence numbers are 1-based positions.
	lo := min(max(from-1, 0), int64(len(events)))
	hi := min(lo+int64(max(limit, 0)), int64(len(events)))
	out := make([]RecordedEvent, hi-lo)
	for i, e := range events[lo:hi] {
		e.Payload = slices.Clone(e.Payload)
		out[i] = e
	}
	return out, nil
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
		out[i] = r.summary
	}
	return out, nil
}

func (m *memoryStore) List(q Query) (Listing, error) {
	all, _ := m.Summaries()
	return list(all, q, func(s *RunSummary, text string) bool {
		m.mu.RLock()
		defer m.mu.RUnlock()
		r, ok := m.runs[s.ID]
		return ok && strings.Contains(r.text, text)
	})
}

func (m *memoryStore) Version() uint64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.version
}

func (m *memoryStore) Reset() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.runs, m.order = map[string]*memoryRun{}, nil
	m.version++
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
