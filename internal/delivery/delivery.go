package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
)

// Ingest is the part of the ingest client delivery needs.
type Ingest interface {
	StartRun(ctx context.Context, req *agentosapi.StartRunRequest) (string, error)
	SendEvents(ctx context.Context, agentID, runID string, events []agentosapi.Event) error
	CompleteRun(ctx context.Context, agentID string, req *agentosapi.CompleteRunRequest) error
	FailRun(ctx context.Context, agentID string, req *agentosapi.FailRunRequest) error
	PutTask(ctx context.Context, agentID string, req *agentosapi.TaskRequest) error
}

// Observer hears the outcome of each delivered op; a nil Observer hears
// nothing. Calls come from delivery's workers, concurrently.
type Observer interface {
	Delivered(op *runtracker.Op)
	Failed(op *runtracker.Op, err error)
	DroppedEvents(n int)
}

// Options configure a Sender.
type Options struct {
	// Concurrency is how many runs are delivered in parallel; default 4.
	Concurrency int
	// MaxQueuedEvents bounds events waiting for delivery across all runs;
	// default 100 000. Start, task and close ops are never dropped.
	MaxQueuedEvents int
	Observer        Observer
	Logger          *slog.Logger
}

// Sender delivers ops. Submit never blocks on I/O.
type Sender struct {
	client Ingest
	opts   Options
	log    *slog.Logger

	ctx    context.Context // cancelled when Shutdown gives up
	cancel context.CancelFunc

	mu       sync.Mutex
	cond     *sync.Cond // signals workers: a run is ready, or stop
	runs     map[runtracker.RunKey]*runQueue
	ready    []*runQueue // runs with ops and no worker, in arrival order
	queued   int         // events waiting
	inFlight int         // ops submitted and not yet done
	idle     []chan struct{}
	stopped  bool // no more Submit
	exiting  bool // workers leave once ready is empty
	wg       sync.WaitGroup
}

type runQueue struct {
	key    runtracker.RunKey
	runID  string
	ops    []runtracker.Op
	active bool // owned by a worker or waiting in ready
	dead   bool // start failed or run closed elsewhere: later ops are skipped
}

// New starts a Sender's workers.
func New(client Ingest, opts Options) *Sender {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.MaxQueuedEvents <= 0 {
		opts.MaxQueuedEvents = 100_000
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

// Submit queues ops for delivery, in order per run.
func (s *Sender) Submit(ops []runtracker.Op) error {
	if len(ops) == 0 {
		return nil
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return ErrStopped
	}
	dropped := 0
	for _, op := range ops {
		if op.Kind == runtracker.OpEvents {
			if s.queued+len(op.Events) > s.opts.MaxQueuedEvents {
				dropped += len(op.Events)
				continue
			}
			s.queued += len(op.Events)
		}
		q := s.runs[op.Run]
		if q == nil {
			q = &runQueue{key: op.Run}
			s.runs[op.Run] = q
		}
		q.ops = append(q.ops, op)
		s.inFlight++
		if !q.active {
			q.active = true
			s.ready = append(s.ready, q)
			s.cond.Signal()
		}
	}
	s.mu.Unlock()
	if dropped > 0 {
		s.log.Warn("delivery queue full: events dropped", slog.Int("events", dropped), slog.Int("max_queued_events", s.opts.MaxQueuedEvents))
		if s.opts.Observer != nil {
			s.opts.Observer.DroppedEvents(dropped)
		}
	}
	return nil
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
		if len(q.ops) == 0 {
			q.active = false
			s.mu.Unlock()
			return
		}
		op := q.ops[0]
		q.ops[0] = runtracker.Op{}
		q.ops = q.ops[1:]
		s.mu.Unlock()

		s.deliver(q, &op)

		s.mu.Lock()
		if op.Kind == runtracker.OpEvents {
			s.queued -= len(op.Events)
		}
		if op.Kind == runtracker.OpClose {
			delete(s.runs, q.key)
		}
		s.inFlight--
		if s.inFlight == 0 {
			for _, ch := range s.idle {
				close(ch)
			}
			s.idle = nil
		}
		s.mu.Unlock()
	}
}

func (s *Sender) deliver(q *runQueue, op *runtracker.Op) {
	if q.dead {
		s.failed(op, fmt.Errorf("run not delivered: an earlier request of this run failed"))
		return
	}
	var err error
	ctx := s.ctx
	switch op.Kind {
	case runtracker.OpStart:
		var id string
		id, err = s.client.StartRun(ctx, &op.Start)
		q.runID = id
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
	if err != nil {
		// Without a run there is nothing to send to; a failed event batch
		// still lets the run close, so it does not stay "running" forever.
		if op.Kind == runtracker.OpStart {
			q.dead = true
		}
		s.failed(op, err)
		return
	}
	if s.opts.Observer != nil {
		s.opts.Observer.Delivered(op)
	}
}

func (s *Sender) failed(op *runtracker.Op, err error) {
	s.log.Error("AgentOS request failed", slog.String("request", op.Kind.String()),
		slog.Int("events", len(op.Events)), slog.Any("error", err))
	if s.opts.Observer != nil {
		s.opts.Observer.Failed(op, err)
	}
}

// Flush waits until every op submitted so far has been delivered or has
// failed, or ctx ends.
func (s *Sender) Flush(ctx context.Context) error {
	s.mu.Lock()
	if s.inFlight == 0 {
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.idle = append(s.idle, ch)
	pending := s.inFlight
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("delivery: %d requests still pending: %w", pending, ctx.Err())
	}
}

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
	s.exiting = true
	s.cond.Broadcast()
	s.mu.Unlock()
	s.wg.Wait()
	s.cancel()
	return err
}
