package localserver

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mathrand "math/rand/v2"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

// DefaultMaxBodyBytes is the body limit unless Options say otherwise.
const DefaultMaxBodyBytes = 1 << 20

// Options configure a Server.
type Options struct {
	MaxBodyBytes int64            // default 1 MiB; larger bodies get 413
	Logger       *slog.Logger     // nil discards
	Now          func() time.Time // nil means time.Now
}

// Faults make the server misbehave on purpose, for tests.
type Faults struct {
	ErrorRate     float64       // fraction of requests answered 503
	RateLimitRate float64       // fraction answered 429 with Retry-After
	RetryAfter    string        // Retry-After sent with 429; "" means "1"
	Latency       time.Duration // delay before each request is handled
	Seed          int64
}

// Run is a run as the server recorded it.
type Run struct {
	ID, AgentID, TriggerType, ExternalRunID string
	Input                                   json.RawMessage
	Status                                  string // running, completed or failed
	Output                                  json.RawMessage
	ErrorMessage                            string
	ErrorDetail                             json.RawMessage
	Events                                  []RecordedEvent
	Tasks                                   []agentosapi.Task // latest state per id, first-seen order
	StartedAt, EndedAt                      time.Time
}

// RecordedEvent is an event with the sequence number AgentOS gives it.
type RecordedEvent struct {
	agentosapi.Event
	SequenceNumber int64
	ReceivedAt     time.Time
}

// Stats counts requests and responses.
type Stats struct {
	Requests map[string]int // every request, by path
	Status   map[int]int    // responses by status code
	Rejected int            // responses with a 4xx or 5xx status
}

// Run statuses.
const (
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
)

// Server is an http.Handler. It is safe for concurrent use.
type Server struct {
	maxBody int64
	log     *slog.Logger
	now     func() time.Time

	mu       sync.Mutex
	keys     map[string]string // key -> agent id
	runs     map[string]*Run
	order    []string
	stats    Stats
	faults   Faults
	rng      *mathrand.Rand
	failNext []fault
	hang     chan struct{} // non-nil: requests wait until it is closed
}

type fault struct {
	status     int
	retryAfter string
}

// New returns a Server with no agents registered.
func New(opts Options) *Server {
	s := &Server{maxBody: opts.MaxBodyBytes, log: opts.Logger, now: opts.Now,
		keys: map[string]string{}, runs: map[string]*Run{}}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.resetStats()
	s.rng = mathrand.New(mathrand.NewPCG(0, 0))
	return s
}

func (s *Server) resetStats() {
	s.stats = Stats{Requests: map[string]int{}, Status: map[int]int{}}
}

// RegisterAgent accepts key as an agent key of agentID.
func (s *Server) RegisterAgent(agentID, apiKey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[apiKey] = agentID
}

// SetFaults replaces the fault settings.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	s.rng = mathrand.New(mathrand.NewPCG(uint64(f.Seed), uint64(f.Seed)>>32|1))
}

// FailNext answers the next n requests with status, before any processing.
func (s *Server) FailNext(n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, fault{status, retryAfter})
	}
}

// Hang makes every request wait until release is called or its context
// ends.
func (s *Server) Hang() (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.hang = ch
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.hang == ch {
				s.hang = nil
			}
			s.mu.Unlock()
			close(ch)
		})
	}
}

// Runs returns a deep copy of every run, in run/start order.
func (s *Server) Runs() []Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Run, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.runs[id].clone())
	}
	return out
}

// Run returns a deep copy of one run.
func (s *Server) Run(id string) (Run, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[id]
	if !ok {
		return Run{}, false
	}
	return r.clone(), true
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Stats{Requests: map[string]int{}, Status: map[int]int{}, Rejected: s.stats.Rejected}
	for k, v := range s.stats.Requests {
		out.Requests[k] = v
	}
	for k, v := range s.stats.Status {
		out.Status[k] = v
	}
	return out
}

// Reset forgets runs, stats and faults; agents stay registered.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs, s.order = map[string]*Run{}, nil
	s.failNext, s.faults = nil, Faults{}
	s.resetStats()
}

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

// apiError is a rejection with its status.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func reject(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// ServeHTTP handles one ingest request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Requests[r.URL.Path]++
	hang := s.hang
	f := s.faults
	s.mu.Unlock()

	// Reading the body first lets net/http notice a client that gives up
	// while the request waits below: it cancels r.Context only then.
	body, readErr := io.ReadAll(http.MaxBytesReader(nil, r.Body, s.maxBody))

	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
			return
		}
	}
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if injected := s.injectedFault(); injected != nil {
		if injected.retryAfter != "" {
			w.Header().Set("Retry-After", injected.retryAfter)
		}
		s.respond(w, r, injected.status, nil, reject(injected.status, "injected", "injected fault: %s", http.StatusText(injected.status)))
		return
	}
	data, err := s.handle(r, body, readErr)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = reject(http.StatusInternalServerError, "internal", "%v", err)
		}
		s.respond(w, r, ae.status, nil, ae)
		return
	}
	s.respond(w, r, http.StatusOK, data, nil)
}

func (s *Server) injectedFault() *fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failNext) > 0 {
		f := s.failNext[0]
		s.failNext = s.failNext[1:]
		return &f
	}
	if s.faults.ErrorRate > 0 && s.rng.Float64() < s.faults.ErrorRate {
		return &fault{status: http.StatusServiceUnavailable}
	}
	if s.faults.RateLimitRate > 0 && s.rng.Float64() < s.faults.RateLimitRate {
		ra := s.faults.RetryAfter
		if ra == "" {
			ra = "1"
		}
		return &fault{status: http.StatusTooManyRequests, retryAfter: ra}
	}
	return nil
}

func (s *Server) respond(w http.ResponseWriter, r *http.Request, status int, data any, ae *apiError) {
	s.mu.Lock()
	s.stats.Status[status]++
	if status >= 400 {
		s.stats.Rejected++
	}
	s.mu.Unlock()
	env := map[string]any{"data": data, "error": nil}
	if ae != nil {
		env["error"] = map[string]string{"code": ae.code, "message": ae.message}
		s.log.Info("rejected", slog.String("path", r.URL.Path), slog.Int("status", status), slog.String("error", ae.message))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(env)
}

// handle authenticates, decodes and applies one request.
func (s *Server) handle(r *http.Request, body []byte, readErr error) (any, error) {
	if _, known := newBody(r.URL.Path); !known {
		return nil, reject(http.StatusNotFound, "not_found", "no endpoint %s", r.URL.Path)
	}
	if r.Method != http.MethodPost {
		return nil, reject(http.StatusMethodNotAllowed, "method_not_allowed", "%s needs POST, not %s", r.URL.Path, r.Method)
	}
	agent, err := s.authenticate(r)
	if err != nil {
		return nil, err
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, reject(http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json, got %q", r.Header.Get("Content-Type"))
	}
	if readErr != nil {
		var tooBig *http.MaxBytesError
		if errors.As(readErr, &tooBig) {
			return nil, reject(http.StatusRequestEntityTooLarge, "payload_too_large", "body exceeds %d bytes", s.maxBody)
		}
		return nil, reject(http.StatusBadRequest, "bad_request", "reading body: %v", readErr)
	}
	req, err := Decode(r.URL.Path, body)
	if err != nil {
		return nil, reject(http.StatusBadRequest, "validation_error", "%v", err)
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch req := req.(type) {
	case *agentosapi.StartRunRequest:
		return s.start(agent, req, now)
	case *agentosapi.EventsRequest:
		run, err := s.openRun(agent, req.RunID)
		if err != nil {
			return nil, err
		}
		for _, e := range req.Events {
			run.Events = append(run.Events, RecordedEvent{Event: e, SequenceNumber: int64(len(run.Events) + 1), ReceivedAt: now})
		}
		return map[string]int{"accepted": len(req.Events)}, nil
	case *agentosapi.CompleteRunRequest:
		run, err := s.openRun(agent, req.RunID)
		if err != nil {
			return nil, err
		}
		run.Status, run.Output, run.EndedAt = StatusCompleted, req.Output, now
		return map[string]string{"run_id": run.ID, "status": run.Status}, nil
	case *agentosapi.FailRunRequest:
		run, err := s.openRun(agent, req.RunID)
		if err != nil {
			return nil, err
		}
		run.Status, run.ErrorMessage, run.ErrorDetail, run.EndedAt = StatusFailed, req.ErrorMessage, req.ErrorDetail, now
		return map[string]string{"run_id": run.ID, "status": run.Status}, nil
	case *agentosapi.TaskRequest:
		run, err := s.openRun(agent, req.RunID)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(run.Tasks, func(t agentosapi.Task) bool { return t.ID == req.Task.ID })
		if i < 0 {
			run.Tasks = append(run.Tasks, req.Task)
		} else {
			run.Tasks[i] = req.Task
		}
		return map[string]string{"task_id": req.Task.ID, "status": req.Task.Status}, nil
	}
	return nil, reject(http.StatusInternalServerError, "internal", "unhandled request type %T", req)
}

func (s *Server) authenticate(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	key, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || strings.TrimSpace(key) == "" {
		return "", reject(http.StatusUnauthorized, "unauthorized", "missing or malformed Authorization header: want Bearer <agent key>")
	}
	s.mu.Lock()
	agent, known := s.keys[key]
	s.mu.Unlock()
	if !known {
		return "", reject(http.StatusUnauthorized, "unauthorized", "unknown or revoked API key")
	}
	return agent, nil
}

func (s *Server) start(agent string, req *agentosapi.StartRunRequest, now time.Time) (any, error) {
	if req.AgentID != agent {
		return nil, reject(http.StatusForbidden, "forbidden", "this key belongs to another agent than %s", req.AgentID)
	}
	trigger := req.TriggerType
	if trigger == "" {
		trigger = agentosapi.TriggerSDK
	}
	id := newUUID()
	s.runs[id] = &Run{ID: id, AgentID: agent, TriggerType: trigger, ExternalRunID: req.ExternalRunID,
		Input: req.Input, Status: StatusRunning, StartedAt: now}
	s.order = append(s.order, id)
	return agentosapi.StartRunResponse{RunID: id}, nil
}

// openRun finds a run the agent may write to that is still running.
func (s *Server) openRun(agent, id string) (*Run, error) {
	run, ok := s.runs[id]
	switch {
	case !ok:
		return nil, reject(http.StatusNotFound, "run_not_found", "run %s not found", id)
	case run.AgentID != agent:
		return nil, reject(http.StatusForbidden, "forbidden", "run %s belongs to another agent", id)
	case run.Status != StatusRunning:
		return nil, reject(http.StatusConflict, "run_closed", "run %s is already %s", id, run.Status)
	}
	return run, nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

