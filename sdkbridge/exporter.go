package sdkbridge

import (
	"context"
	"errors"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentos-ai/agentos-otel/internal/delivery"
	"github.com/agentos-ai/agentos-otel/internal/ingest"
	"github.com/agentos-ai/agentos-otel/internal/pipeline"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// ErrShutdown is returned by calls made after Shutdown.
var ErrShutdown = errors.New("agentos: exporter is shut down")

// ErrBufferFull is returned by ExportSpans when the bridge holds as much as
// Limits.MaxBufferedBytes allows, because AgentOS is slower than the spans
// arrive or unreachable. Nothing of the refused batch was kept; the SDK's
// batch processor drops it and reports the error to the otel error handler.
var ErrBufferFull = pipeline.ErrBufferFull

// DeliveryError is returned by ForceFlush and Shutdown when runs were not
// delivered whole since the previous call: a request of theirs failed for
// good (a rejected key, retries exhausted, AgentOS unreachable). It unwraps
// to each distinct cause.
type DeliveryError = delivery.FailedRunsError

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

// Exporter is an sdktrace.SpanExporter that reports traces to AgentOS as
// runs. It works under sdktrace.WithBatcher and sdktrace.WithSyncer.
type Exporter struct {
	p *pipeline.Pipeline

	mu      sync.Mutex // guards conv and stopped
	conv    *converter
	stopped bool
}

var _ sdktrace.SpanExporter = (*Exporter)(nil)

// NewExporter returns an Exporter configured from the environment
// (AGENTOS_API_KEY, AGENTOS_AGENT_ID, AGENTOS_ENDPOINT) and opts, which win.
// Bad configuration fails here, naming the setting.
func NewExporter(ctx context.Context, opts ...Option) (*Exporter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, _, err := newPipeline(opts, nil)
	if err != nil {
		return nil, err
	}
	return &Exporter{p: p, conv: newConverter()}, nil
}

// ExportSpans hands ended spans to the bridge. It returns once they are
// queued: delivery happens in the background, in order per run. No
// reference to ss is kept, since the batch processor reuses it. At the
// memory bound it waits for room until ctx ends (at most 5 s), then returns
// an error matching ErrBufferFull.
func (e *Exporter) ExportSpans(ctx context.Context, ss []sdktrace.ReadOnlySpan) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return ErrShutdown
	}
	batch := make([]spans.Span, len(ss))
	for i, s := range ss {
		batch[i] = e.conv.span(s)
	}
	e.mu.Unlock()
	err := e.p.ConsumeSpans(ctx, batch)
	if errors.Is(err, pipeline.ErrShutdown) {
		return ErrShutdown
	}
	return err
}

// ForceFlush closes the runs whose root has ended and waits until
// everything queued before the call is delivered, or ctx ends. Runs that
// failed since the previous call are reported in a *DeliveryError.
func (e *Exporter) ForceFlush(ctx context.Context) error {
	if e.isStopped() {
		return ErrShutdown
	}
	return e.p.Flush(ctx)
}

// Shutdown flushes, then closes every run still open, as failed with a
// message that says why, and delivers. Runs that could not be delivered are
// reported in a *DeliveryError. Later calls return ErrShutdown.
func (e *Exporter) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return ErrShutdown
	}
	e.stopped = true
	e.mu.Unlock()
	return e.p.Shutdown(ctx)
}

func (e *Exporter) isStopped() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stopped
}
