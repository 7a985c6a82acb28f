package sdkbridge

import (
	"errors"

	"github.com/agentos-ai/agentos-otel/internal/delivery"
	"github.com/agentos-ai/agentos-otel/internal/ingest"
	"github.com/agentos-ai/agentos-otel/internal/pipeline"
)

// ErrShutdown is returned by calls made after Shutdown.
var ErrShutdown = errors.New("agentos: exporter is shut down")

// ErrBufferFull is returned by ExportSpans when the bridge holds as much as
// Limits.MaxBufferedBytes allows, because AgentOS is slower than the spans
// arrive or unreachable. Nothing of the refused batch was kept; the SDK's
// batch processor drops it and reports the error to the otel error handler.
var ErrBufferFull = pipeline.ErrBufferFull

// Causes a DeliveryError may unwrap to, for errors.Is.
var (
	// ErrUnauthorized: AgentOS answered 401, the API key is not valid.
	// Requests with that key then fail fast for a while, without being sent.
	ErrUnauthorized = ingest.ErrUnauthorized
	// ErrForbidden: AgentOS answered 403, the key belongs to another agent.
	ErrForbidden = ingest.ErrForbidden
	// ErrRunMayExist: run/start's outcome stayed unknown after two attempts
	// (timeouts after sending, resets), so AgentOS may hold a run the
	// bridge never learned the id of; look it up by its external_run_id.
	ErrRunMayExist = ingest.ErrRunMayExist
)

// DeliveryError is returned by ForceFlush and Shutdown (of the Exporter and
// the SpanProcessor) when runs were not delivered whole since the previous
// call: a request of theirs failed for good (a rejected key, retries
// exhausted, AgentOS unreachable). Each run is counted once, under its
// first cause. It unwraps to every cause, so errors.Is matches
// ErrUnauthorized, ErrForbidden, ErrRunMayExist, context.DeadlineExceeded
// and the like:
//
//	var de *sdkbridge.DeliveryError
//	if errors.As(err, &de) {
//		for _, c := range de.Causes {
//			log.Printf("%d runs: %v", c.Runs, c.Err)
//		}
//	}
type DeliveryError struct {
	// Runs counts the runs with at least one request that failed for good.
	Runs int
	// Causes are the distinct causes, the most frequent first.
	Causes []DeliveryCause
}

// DeliveryCause is one reason runs were not delivered, and how many.
type DeliveryCause struct {
	Runs int   // runs that failed with Err
	Err  error // as the ingest client reported it; never shows a key
}

// Error says how many runs were not delivered and why, naming up to three
// causes, in the words of the core's own report.
func (e *DeliveryError) Error() string {
	f := delivery.FailedRunsError{Runs: e.Runs, Causes: make([]delivery.Cause, len(e.Causes))}
	for i, c := range e.Causes {
		f.Causes[i] = delivery.Cause{Runs: c.Runs, Err: c.Err}
	}
	return f.Error()
}

// Unwrap returns every cause, for errors.Is and errors.As.
func (e *DeliveryError) Unwrap() []error {
	errs := make([]error, len(e.Causes))
	for i, c := range e.Causes {
		errs[i] = c.Err
	}
	return errs
}

// publicError replaces the core's report of failed runs, alone or joined
// with other errors, with a *DeliveryError.
func publicError(err error) error {
	switch e := err.(type) {
	case nil:
		return nil
	case *delivery.FailedRunsError:
		de := &DeliveryError{Runs: e.Runs, Causes: make([]DeliveryCause, len(e.Causes))}
		for i, c := range e.Causes {
			de.Causes[i] = DeliveryCause{Runs: c.Runs, Err: c.Err}
		}
		return de
	case interface{ Unwrap() []error }:
		var failed *delivery.FailedRunsError
		if !errors.As(err, &failed) {
			return err
		}
		errs := e.Unwrap()
		out := make([]error, len(errs))
		for i, x := range errs {
			out[i] = publicError(x)
		}
		return errors.Join(out...)
	}
	return err
}
