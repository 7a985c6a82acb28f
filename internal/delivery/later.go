package delivery

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/ingest"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
)

// Requests sent again later: with Options.RetryLater, a run whose request
// failed with a transient error after the ingest client's retries waits,
// parked, and is put back in line after a backoff.

// MaxRetryLater caps the wait between two later attempts of a request.
const MaxRetryLater = 5 * time.Minute

// park keeps q, with op at its head, out of the workers' way for a while
// when op failed in a way that sending it again later may cure, and says
// whether it did.
func (s *Sender) park(q *runQueue, op *runtracker.Op, err error) bool {
	if s.opts.RetryLater <= 0 || !retryableLater(op, err) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil || s.exiting {
		return false
	}
	wait := s.opts.RetryLater << min(q.deferrals, 20)
	wait = min(wait, MaxRetryLater)
	q.deferrals++
	q.parked = time.AfterFunc(wait, func() { s.unpark(q) })
	if s.opts.Observer != nil {
		s.opts.Observer.Deferred(op, err)
	}
	s.log.LogAttrs(context.Background(), slog.LevelWarn, "AgentOS request failed after its retries; sending it again later",
		slog.String("request", op.Kind.String()), slog.String("trace_id", q.traceID.String()),
		slog.String("external_run_id", q.externalID), slog.String("run_id", q.runID),
		slog.Duration("after", wait), slog.Int("attempt", q.deferrals), slog.String("error", err.Error()))
	return true
}

// unpark puts a parked queue back in line.
func (s *Sender) unpark(q *runQueue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q.parked == nil {
		return
	}
	q.parked = nil
	s.ready = append(s.ready, q)
	s.cond.Signal()
}

// unparkAll puts every parked queue back in line at once, for a Shutdown
// that gives up: their requests then fail and are reported. The caller
// holds s.mu.
func (s *Sender) unparkAll() {
	for _, q := range s.runs {
		if q.parked != nil && q.parked.Stop() {
			q.parked = nil
			s.ready = append(s.ready, q)
		}
	}
	s.cond.Broadcast()
}

// retryableLater says whether op, failed with err after the client's
// retries, may succeed if sent again later without being applied twice.
func retryableLater(op *runtracker.Op, err error) bool {
	if !ingest.IsRetryable(err) {
		return false
	}
	switch op.Kind {
	case runtracker.OpClose:
		return true // a repeated close is answered 409, which is success
	case runtracker.OpEvents:
		var partial *ingest.SendEventsError
		return !errors.As(err, &partial) && !ingest.IsAmbiguous(err)
	}
	return !ingest.IsAmbiguous(err)
}
