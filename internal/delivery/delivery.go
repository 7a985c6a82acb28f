package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/ingest"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// Ingest is the part of the ingest client delivery needs.
type Ingest interface {
	StartRun(ctx context.Context, req *agentosapi.StartRunRequest) (string, error)
	SendEvents(ctx context.Context, agentID, runID string, events []agentosapi.Event) error
	CompleteRun(ctx context.Context, agentID string, req *agentosapi.CompleteRunRequest) error
	FailRun(ctx context.Context, agentID string, req *agentosapi.FailRunRequest) error
	PutTask(ctx context.Context, agentID string, req *agentosapi.TaskRequest) error
}

// Observer hears the outcome of each op; a nil Observer hears nothing.
// Calls come from delivery's workers, concurrently.
type Observer interface {
	Delivered(op *runtracker.Op)
	Failed(op *runtracker.Op, err error)
	// Skipped hears an op that was not sent because its run's start failed.
	Skipped(op *runtracker.Op)
	// Deferred hears an op that failed with a transient error after the
	// ingest client's retries and will be sent again later (see
	// Options.RetryLater).
	Deferred(op *runtracker.Op, err error)
}

// Progress hears each run's progress so that its owner can make it
// durable. Calls come from the worker delivering the run, and the run's
// next request is not sent before they return.
type Progress interface {
	// Starting is called before a run/start is sent; the start is sent
	// with the context it returns, through which the owner may hear each
	// attempt (see ingest.WithStartObserver).
	Starting(ctx context.Context, op *runtracker.Op) context.Context
	// Done is called after each op: err is nil when AgentOS accepted it.
	// runID is the run's id, empty if its start failed. An op skipped
	// because its run's start failed gets an error matching
	// ErrRunNotStarted and the start's error.
	Done(op *runtracker.Op, runID string, err error)
}

// ErrRunNotStarted is the error Progress hears for an op that was not sent
// because its run's start failed.
var ErrRunNotStarted = errors.New("delivery: the run's start failed")

// DefaultConcurrency keeps enough runs in flight that a hosted AgentOS 50 to
// 100 ms away does not limit throughput: each run needs at least three
// sequential round trips.
const DefaultConcurrency = 256

// Options configure a Sender.
type Options struct {
	// Concurrency is how many runs are delivered at once; default
	// DefaultConcurrency. A run's own ops are always sent one at a time.
	Concurrency int
	Observer    Observer
	// Progress, when set, hears each run's progress; see Progress.
	Progress Progress
	Logger   *slog.Logger
	// RetryLater, when positive, keeps a run whose request failed with a
	// transient error after the ingest client's retries (AgentOS down for
	// longer than they last): the request is sent again after RetryLater,
	// then after twice as long and so on up to MaxRetryLater, with the
	// run's later requests waiting behind it, until it succeeds or
	// Shutdown gives up. Without it the request fails and the run is
	// reported. Only requests that cannot have taken effect are sent
	// again (and closes, which AgentOS answers 409 when repeated).
	RetryLater time.Duration
}

// Sender delivers ops: in order per run, runs in parallel. Submit never
// blocks on I/O and never drops; its owner bounds memory by admitting work
// only while QueuedBytes is below its limit.
type Sender struct {
	client Ingest
	opts   Options
	log    *slog.Logger

	ctx    context.Context // cancelled when Shutdown gives up
	cancel context.CancelFunc

	mu        sync.Mutex
	cond      *sync.Cond // signals workers: a run is ready, or stop
	runs      map[runtracker.RunKey]*runQueue
	spare     []*runQueue // queues of closed runs, for the next runs
	ready     []*runQueue // runs with ops and no worker, in arrival order
	bytes     int64       // estimated size of ops not yet done
	submitted uint64      // ops ever submitted; an op's seq is its number
	pending   int         // ops submitted and not yet done
	marks     []*Mark     // flushes waiting for their ops
	freed     chan struct{}
	fails     failures
	stopped   bool // no more Submit
	exiting   bool // workers leave once ready is empty
	wg        sync.WaitGroup
}

type runQueue struct {
	key        runtracker.RunKey
	runID      string
	externalID string
	traceID    spans.TraceID
	ops        []queuedOp // ops[head:] are still to send
	head       int
	active     bool // owned by a worker or waiting in ready
	dead       bool // start failed: later ops are skipped
	startErr   error
	failed     bool // a request failed for good: the run is reported once
	// deferrals counts the later attempts of the op at the head; parked
	// is the timer that puts the queue back in ready.
	deferrals int
	parked    *time.Timer
}

type queuedOp struct {
	op   *runtracker.Op // in the slice Submit was given
	seq  uint64
	size int64
}

// New starts a Sender's workers.
func New(client Ingest, opts Options) *Sender {
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sender{
		client: client, opts: opts, log: log, ctx: ctx, cancel: cancel,
		runs: make(map[runtracker.RunKey]*runQueue),
	}
	s.cond = sync.NewCond(&s.mu)
	for range opts.Concurrency {
		s.wg.Add(1)
		go s.worker()
	}
	return s
}

// ErrStopped is returned by Submit after Shutdown.
var ErrStopped = errors.New("delivery: sender is shut down")

// Submit queues ops for delivery, in order per run, and takes ownership of
// the slice: each op is cleared once delivered, so that its events can be
// collected before the rest of the batch is done. Callers that need a
// run's ops in the order they were emitted submit them under the same lock
// that serialised their emission.
func (s *Sender) Submit(ops []runtracker.Op) error {
	if len(ops) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrStopped
	}
	for i := range ops {
		op := &ops[i]
		q := s.runs[op.Run]
		if q == nil {
			q = s.newQueue(op.Run)
			s.runs[op.Run] = q
		}
		s.submitted++
		qo := queuedOp{op: op, seq: s.submitted, size: op.Size()}
		s.bytes += qo.size
		s.pending++
		q.ops = append(q.ops, qo)
		if !q.active {
			q.active = true
			s.ready = append(s.ready, q)
			s.cond.Signal()
		}
	}
	return nil
}

// newQueue returns an empty queue for run, reusing a closed run's (and its
// slice) when there is one: a queue per run was a good part of what each
// run allocated here. The caller holds s.mu.
func (s *Sender) newQueue(run runtracker.RunKey) *runQueue {
	n := len(s.spare)
	if n == 0 {
		return &runQueue{key: run, ops: make([]queuedOp, 0, 4)}
	}
	q := s.spare[n-1]
	s.spare[n-1] = nil
	s.spare = s.spare[:n-1]
	*q = runQueue{key: run, ops: q.ops[:0]}
	return q
}

// maxSpareQueues bounds the queues kept for reuse.
const maxSpareQueues = 1024

// QueuedBytes estimates the memory held by ops not yet delivered.
func (s *Sender) QueuedBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// Freed returns a channel that is closed when the next op is done and its
// memory released, for an owner waiting for room.
func (s *Sender) Freed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.freed == nil {
		s.freed = make(chan struct{})
	}
	return s.freed
}

func (s *Sender) worker() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		for len(s.ready) == 0 && !s.exiting {
			s.cond.Wait()
		}
		if len(s.ready) == 0 {
			s.mu.Unlock()
			return
		}
		q := s.ready[0]
		s.ready[0] = nil
		s.ready = s.ready[1:]
		s.mu.Unlock()
		s.drain(q)
	}
}

// drain delivers a run's ops until its queue is empty.
func (s *Sender) drain(q *runQueue) {
	for {
		s.mu.Lock()
		if q.head == len(q.ops) {
			q.ops, q.head = q.ops[:0], 0
			q.active = false
			s.mu.Unlock()
			return
		}
		qo := q.ops[q.head]
		s.mu.Unlock()

		if s.deliver(q, qo.op) == parked {
			return
		}
		closed := qo.op.Kind == runtracker.OpClose
		*qo.op = runtracker.Op{} // its events may go now

		s.mu.Lock()
		q.ops[q.head] = queuedOp{}
		q.head++
		q.deferrals = 0
		s.done(&qo)
		if closed {
			delete(s.runs, q.key)
			if q.head == len(q.ops) && len(s.spare) < maxSpareQueues {
				// Only this worker holds q now: the run is out of the map
				// and nothing follows its close.
				s.spare = append(s.spare, q)
				s.mu.Unlock()
				return
			}
		}
		s.mu.Unlock()
	}
}

// done releases an op's memory and counts it towards the flushes waiting
// for it. The caller holds s.mu.
func (s *Sender) done(qo *queuedOp) {
	s.bytes -= qo.size
	s.pending--
	kept := s.marks[:0]
	for _, m := range s.marks {
		if qo.seq <= m.seq {
			m.remaining--
		}
		if m.remaining == 0 {
			close(m.done)
			continue
		}
		kept = append(kept, m)
	}
	clear(s.marks[len(kept):])
	s.marks = kept
	if s.freed != nil {
		close(s.freed)
		s.freed = nil
	}
}

// outcome is what deliver did with an op.
type outcome int

const (
	finished outcome = iota // delivered, failed for good or skipped
	parked                  // to be sent again later; it stays at the head
)

func (s *Sender) deliver(q *runQueue, op *runtracker.Op) outcome {
	if q.dead {
		if s.opts.Observer != nil {
			s.opts.Observer.Skipped(op)
		}
		if s.opts.Progress != nil {
			s.opts.Progress.Done(op, "", fmt.Errorf("%w: %w", ErrRunNotStarted, q.startErr))
		}
		return finished
	}
	var err error
	ctx := s.ctx
	switch op.Kind {
	case runtracker.OpStart:
		q.externalID, q.traceID = op.Start.ExternalRunID, op.TraceID
		if op.RunID != "" {
			// Recovered: the run exists, only its id was missing here.
			q.runID = op.RunID
			break
		}
		if s.opts.Progress != nil {
			ctx = s.opts.Progress.Starting(ctx, op)
		}
		q.runID, err = s.client.StartRun(ctx, &op.Start)
	case runtracker.OpEvents:
		err = s.client.SendEvents(ctx, op.AgentID, q.runID, op.Events)
	case runtracker.OpTask:
		err = s.client.PutTask(ctx, op.AgentID, &agentosapi.TaskRequest{RunID: q.runID, Task: op.Task})
	case runtracker.OpClose:
		if op.Close.Fail {
			err = s.client.FailRun(ctx, op.AgentID, &agentosapi.FailRunRequest{
				RunID: q.runID, ErrorMessage: op.Close.ErrorMessage, ErrorDetail: op.Close.ErrorDetail,
			})
		} else {
			err = s.client.CompleteRun(ctx, op.AgentID, &agentosapi.CompleteRunRequest{RunID: q.runID, Output: op.Close.Output})
		}
	}
	if err != nil && s.park(q, op, err) {
		return parked
	}
	if err != nil {
		// Without a run there is nothing to send to; a failed event batch
		// still lets the run close, so it does not stay "running" forever.
		if op.Kind == runtracker.OpStart {
			q.dead, q.startErr = true, err
		}
		s.runFailed(q, op, err)
		if s.opts.Observer != nil {
			s.opts.Observer.Failed(op, err)
		}
		if s.opts.Progress != nil {
			s.opts.Progress.Done(op, q.runID, err)
		}
		return finished
	}
	if s.opts.Progress != nil {
		s.opts.Progress.Done(op, q.runID, nil)
	}
	if s.opts.Observer != nil && op.RunID == "" {
		s.opts.Observer.Delivered(op)
	}
	return finished
}

// runFailed records a failed request. A run is logged and counted once, on
// its first failure; its later failures are logged at debug level.
func (s *Sender) runFailed(q *runQueue, op *runtracker.Op, err error) {
	s.mu.Lock()
	first := !q.failed
	q.failed = true
	var logLine bool
	var summary string
	var suppressed int
	if first {
		logLine, summary, suppressed = s.fails.add(err, time.Now())
	}
	s.mu.Unlock()
	if summary != "" {
		logSuppressed(s.log, summary, suppressed)
	}
	level := slog.LevelDebug
	if logLine {
		level = slog.LevelError
	}
	msg := "AgentOS run not delivered"
	if errors.Is(err, ingest.ErrRunMayExist) {
		// Each such run needs finding in AgentOS by hand: never
		// suppressed, and a message of its own, which the Collector's log
		// sampling (by message) does not thin out either.
		level, msg = slog.LevelError, MayExistMessage(q.externalID)
	}
	s.log.LogAttrs(context.Background(), level, msg,
		slog.String("request", op.Kind.String()), slog.String("trace_id", q.traceID.String()),
		slog.String("external_run_id", q.externalID), slog.String("run_id", q.runID),
		slog.Int("events", len(op.Events)), slog.String("error", err.Error()))
}

// MayExistMessage is the log message for a run whose run/start may have
// opened a run in AgentOS without the bridge learning its id. It names the
// external_run_id in the message itself, so that log sampling keyed on the
// message keeps every such line.
func MayExistMessage(externalRunID string) string {
	return "AgentOS may hold an open run with external_run_id " + externalRunID + ": its run/start may have taken effect without the bridge learning the run id; close it in AgentOS"
}

// Failures returns a *FailedRunsError for the runs that failed since the
// previous call, or nil.
func (s *Sender) Failures() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.fails.take(); e != nil {
		return e
	}
	return nil
}

// Mark is a point in the stream of submitted ops: it is reached once every
// op submitted before it is delivered or has failed.
type Mark struct {
	seq       uint64
	remaining int
	done      chan struct{}
}

// Mark records the ops submitted so far, for a flush to wait for. Ops
// submitted later do not hold it up.
func (s *Sender) Mark() *Mark {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := &Mark{seq: s.submitted, remaining: s.pending, done: make(chan struct{})}
	if m.remaining == 0 {
		close(m.done)
		return m
	}
	s.marks = append(s.marks, m)
	return m
}

// Wait waits until the mark is reached or ctx ends.
func (s *Sender) Wait(ctx context.Context, m *Mark) error {
	select {
	case <-m.done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.remaining == 0 {
		return nil
	}
	return fmt.Errorf("delivery: %d requests still pending: %w", m.remaining, ctx.Err())
}

// Flush waits until every op submitted before the call has been delivered
// or has failed, or ctx ends.
func (s *Sender) Flush(ctx context.Context) error { return s.Wait(ctx, s.Mark()) }

// Shutdown delivers what is queued, then stops the workers. If ctx ends
// first, requests in flight are cancelled and the error says how many ops
// were not delivered.
func (s *Sender) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return ErrStopped
	}
	s.stopped = true
	s.mu.Unlock()

	err := s.Flush(ctx)
	if err != nil {
		// Cancelled requests fail at once, so the workers empty the queue
		// quickly, reporting every op they could not deliver.
		s.cancel()
	}
	s.mu.Lock()
	s.unparkAll()
	s.exiting = true
	s.cond.Broadcast()
	s.mu.Unlock()
	s.wg.Wait()
	s.cancel()
	return err
}
