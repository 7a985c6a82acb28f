package sdkbridge

import (
	"context"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentos-ai/agentos-otel/internal/pipeline"
)

// SpanProcessor reports runs live: run/start when a root span starts, so
// AgentOS shows the run as running while the agent works, and each span's
// events as it starts and ends.
//
// OnStart and OnEnd never block and do no I/O: they put the span on a
// bounded queue that one goroutine drains. When the queue is full the span
// start or end is dropped and counted (DroppedSpans, and the
// agentos.spans.dropped metric with reason queue_full). A dropped root
// start means its run is not reported; a dropped root end leaves the run
// open until Shutdown closes it as failed.
type SpanProcessor struct {
	p     *pipeline.Pipeline
	queue chan liveItem
	// ctx ends when Shutdown starts, so that a worker waiting for room at
	// the memory bound hands over what is queued instead.
	ctx    context.Context
	cancel context.CancelFunc

	dropped atomic.Int64
	reg     metric.Registration

	mu      sync.RWMutex // held for reading while enqueuing; writers close the queue
	stopped bool
	done    chan struct{}
}

type liveItem struct {
	span  sdktrace.ReadOnlySpan
	ended bool
	// flushed, when set, marks a ForceFlush barrier instead of a span.
	flushed chan struct{}
}

var _ sdktrace.SpanProcessor = (*SpanProcessor)(nil)

// NewSpanProcessor returns a live SpanProcessor configured like NewExporter.
// Register it with sdktrace.WithSpanProcessor; it replaces, rather than
// joins, an Exporter for the same spans.
func NewSpanProcessor(ctx context.Context, opts ...Option) (*SpanProcessor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, c, err := newPipeline(opts)
	if err != nil {
		return nil, err
	}
	sp := &SpanProcessor{p: p, queue: make(chan liveItem, c.queueSize), done: make(chan struct{})}
	sp.ctx, sp.cancel = context.WithCancel(context.Background())
	if c.meterProvider != nil {
		if err := sp.registerDrops(c.meterProvider); err != nil {
			sp.cancel()
			_ = p.Shutdown(ctx)
			return nil, err
		}
	}
	go sp.run()
	return sp, nil
}

func (sp *SpanProcessor) registerDrops(mp metric.MeterProvider) error {
	meter := mp.Meter("github.com/agentos-ai/agentos-otel/sdkbridge")
	c, err := meter.Int64ObservableCounter("agentos.processor.spans.dropped",
		metric.WithDescription("Span starts and ends the live processor dropped because its queue was full."),
		metric.WithUnit("{span}"))
	if err != nil {
		return err
	}
	sp.reg, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(c, sp.dropped.Load())
		return nil
	}, c)
	return err
}

// OnStart queues the started span; it never blocks.
func (sp *SpanProcessor) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	sp.enqueue(liveItem{span: s})
}

// OnEnd queues the ended span; it never blocks.
func (sp *SpanProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	sp.enqueue(liveItem{span: s, ended: true})
}

func (sp *SpanProcessor) enqueue(it liveItem) {
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	if sp.stopped {
		return
	}
	select {
	case sp.queue <- it:
	default:
		sp.dropped.Add(1)
	}
}

// DroppedSpans is how many span starts and ends were dropped on a full queue.
func (sp *SpanProcessor) DroppedSpans() int64 { return sp.dropped.Load() }

// liveBatch bounds how many queued spans the worker hands over at once.
const liveBatch = 256

// run is the one goroutine that reads spans: it converts them off the
// instrumented program's hot path, and hands them over in batches so that
// it keeps up with bursts.
func (sp *SpanProcessor) run() {
	defer close(sp.done)
	conv := newConverter()
	batch := make([]pipeline.LiveSpan, 0, liveBatch)
	for it := range sp.queue {
		var barrier chan struct{}
		for {
			if it.flushed != nil {
				barrier = it.flushed
				break
			}
			batch = append(batch, pipeline.LiveSpan{Span: conv.span(it.span), Ended: it.ended})
			if len(batch) == liveBatch {
				break
			}
			var ok bool
			select {
			case it, ok = <-sp.queue:
			default:
			}
			if !ok {
				break
			}
		}
		_ = sp.p.Live(sp.ctx, batch)
		clear(batch)
		batch = batch[:0]
		if barrier != nil {
			close(barrier)
		}
	}
}

// ForceFlush waits until every span queued before the call is processed,
// closes runs whose root has ended and delivers what is queued.
func (sp *SpanProcessor) ForceFlush(ctx context.Context) error {
	barrier := make(chan struct{})
	sp.mu.RLock()
	if sp.stopped {
		sp.mu.RUnlock()
		return ErrShutdown
	}
	// A barrier must not be dropped, so this send may wait for room.
	select {
	case sp.queue <- liveItem{flushed: barrier}:
	case <-ctx.Done():
		sp.mu.RUnlock()
		return ctx.Err()
	}
	sp.mu.RUnlock()
	select {
	case <-barrier:
	case <-ctx.Done():
		return ctx.Err()
	}
	return sp.p.Flush(ctx)
}

// Shutdown processes what is queued, closes every run (a root still open is
// closed as failed, saying why) and delivers. Later calls return ErrShutdown.
func (sp *SpanProcessor) Shutdown(ctx context.Context) error {
	sp.mu.Lock()
	if sp.stopped {
		sp.mu.Unlock()
		return ErrShutdown
	}
	sp.stopped = true
	close(sp.queue)
	sp.mu.Unlock()
	sp.cancel()
	select {
	case <-sp.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if sp.reg != nil {
		_ = sp.reg.Unregister()
	}
	return sp.p.Shutdown(ctx)
}
