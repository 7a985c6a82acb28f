package sdkbridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentos-ai/agentos-otel/internal/pipeline"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// Exporter is an sdktrace.SpanExporter that reports traces to AgentOS as
// runs. It works under sdktrace.WithBatcher and sdktrace.WithSyncer.
type Exporter struct {
	p    *pipeline.Pipeline
	logs *logJoin // see LogExporter

	mu      sync.Mutex // guards conv, spare, spareAttrs and stopped
	conv    *converter
	stopped bool
	// spare and spareAttrs are a converted batch's spans and attributes,
	// for the next call: the pipeline keeps no pointer into them once
	// ConsumeSpans returns (its tracker copies what it keeps, LentAttrs).
	spare      []spans.Span
	spareAttrs []spans.Attr
}

// maxSpare and maxSpareAttrs bound what is kept between calls, about
// 650 KB: the batch processor's default batch is 512 spans.
const (
	maxSpare      = 1024
	maxSpareAttrs = 8192
)

var _ sdktrace.SpanExporter = (*Exporter)(nil)

// NewExporter returns an Exporter configured from the environment (see
// the package documentation) and opts, which win. Bad configuration fails
// here, naming the setting, and so does a ProcessorOption, which only the
// live SpanProcessor honours.
func NewExporter(ctx context.Context, opts ...Option) (*Exporter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if len(c.processorOnly) > 0 {
		return nil, fmt.Errorf("agentos: %s: an option of NewSpanProcessor, which NewExporter cannot honour", strings.Join(c.processorOnly, ", "))
	}
	p, c, err := newPipelineFrom(c, func(pc *pipeline.Config) { pc.Tracker.LentAttrs = true })
	if err != nil {
		return nil, err
	}
	return &Exporter{p: p, logs: newLogJoin(c, p), conv: newConverter()}, nil
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
	batch, arena := e.spare, attrArena{buf: e.spareAttrs}
	e.spare, e.spareAttrs = nil, nil
	if cap(batch) < len(ss) {
		batch = make([]spans.Span, len(ss))
	}
	batch = batch[:len(ss)]
	if n := attrCount(ss); cap(arena.buf) < n {
		arena.buf = make([]spans.Attr, 0, n) // one block: take never makes another
	}
	for i, s := range ss {
		batch[i] = e.conv.spanIn(s, &arena)
	}
	e.mu.Unlock()
	err := e.p.ConsumeSpans(ctx, batch)
	// Cleared, so that what they point to is not kept alive by them.
	clear(batch)
	clear(arena.buf)
	e.mu.Lock()
	if cap(batch) <= maxSpare {
		e.spare = batch[:0]
	}
	if cap(arena.buf) <= maxSpareAttrs {
		e.spareAttrs = arena.buf[:0]
	}
	e.mu.Unlock()
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
	return publicError(e.p.Flush(ctx))
}

// Shutdown flushes, then closes every run still open, as failed with a
// message that says why, and delivers. Runs that could not be delivered are
// reported in a *DeliveryError. Later calls return nil, as otlptrace's
// exporter and the SpanProcessor do.
func (e *Exporter) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return nil
	}
	e.stopped = true
	e.mu.Unlock()
	return publicError(e.p.Shutdown(ctx))
}

func (e *Exporter) isStopped() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stopped
}
