package sdkbridge

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentos-ai/agentos-otel/internal/pipeline"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// SpanProcessor reports runs live: run/start when a root span starts, so
// AgentOS shows the run as running while the agent works, and each span's
// events as it starts and ends.
//
// OnStart and OnEnd never block and do no I/O. OnStart copies what the start
// event needs (ids, parent, name, start time, the attributes set so far,
// resource); OnEnd keeps the ended span, which no longer changes. Both are
// queued for one goroutine that converts and hands them over in batches.
//
// A span's type (LLM call, tool, agent, step) is decided from the
// attributes it has when it starts, and its end event pairs with its start
// event; see the package documentation for the attributes to set at Start.
//
// The queue holds WithQueueSize span starts and ends of child spans; past
// it they are dropped and counted (DroppedSpans, and the metric
// agentos.processor.spans.dropped{span="child"}), logged at most every
// 10 s with counts, and the run whose child was dropped gets a warn event
// "spans.dropped" {count} at its root's end, so its timeline says it is
// incomplete. Run roots are not held to that bound: they have a reserve of
// 16 times the queue size on top, so a run is never lost or misreported
// because its children filled the queue.
//
// Spans that are not sampled are ignored, as sdktrace's BatchSpanProcessor
// does.
type SpanProcessor struct {
	p          *pipeline.Pipeline
	logs       *logJoin // see LogExporter
	log        *slog.Logger
	remoteRoot bool
	childCap   int // queued items past which child spans are dropped
	rootCap    int // queued items past which even roots are dropped
	// stopping ends when Shutdown starts, so that a worker waiting for room
	// at the memory bound hands over what is queued instead.
	stopping context.Context
	stop     context.CancelFunc

	mu      sync.Mutex
	head    *chunk // queued items, oldest first
	tail    *chunk
	queued  int
	free    *chunk // emptied chunks, reused
	nfree   int
	drops   map[spans.TraceID]int // child drops per trace since the worker last looked
	stopped bool
	wake    chan struct{} // one token: the queue went from empty to not
	pause   chan struct{} // tests: the worker waits for it to close

	dropped     atomic.Int64 // child starts and ends
	rootDropped atomic.Int64 // only past the root reserve
	reg         metric.Registration

	done         chan struct{} // the worker has drained the queue and exited
	shutdownOnce sync.Once
	shutdownDone chan struct{}
	shutdownErr  error
}

type itemKind uint8

const (
	itemStart itemKind = iota
	itemEnd
	itemBarrier
)

// liveItem is a queued span start, span end or ForceFlush barrier. A start
// holds copies taken at OnStart: the SDK's attribute slice is shared
// copy-on-write, so later SetAttributes calls do not show through.
type liveItem struct {
	kind     itemKind
	root     bool
	traceID  spans.TraceID
	spanID   spans.SpanID
	parentID spans.SpanID
	remote   bool
	name     string
	start    time.Time
	attrs    []attribute.KeyValue
	res      *resource.Resource
	ended    sdktrace.ReadOnlySpan
	flushed  chan struct{}
}

var _ sdktrace.SpanProcessor = (*SpanProcessor)(nil)

// chunk is a piece of the queue: appending never copies what is queued,
// and chunks are reused, so a burst costs no more than its own size.
type chunk struct {
	items [chunkSize]liveItem
	n     int
	next  *chunk
}

const chunkSize = 128

// Run roots have room beyond the child queue: rootReserveFactor times it,
// at most maxRootReserve items.
const (
	rootReserveFactor = 16
	maxRootReserve    = 1 << 16
)

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
	log := c.logger
	if log == nil {
		log = slog.Default()
	}
	sp := &SpanProcessor{
		p: p, logs: newLogJoin(c), log: log, remoteRoot: c.remoteRoot,
		childCap: c.queueSize, rootCap: c.queueSize + min(rootReserveFactor*c.queueSize, maxRootReserve),
		wake: make(chan struct{}, 1), done: make(chan struct{}), shutdownDone: make(chan struct{}),
	}
	sp.stopping, sp.stop = context.WithCancel(context.Background())
	if c.meterProvider != nil {
		if err := sp.registerDrops(c.meterProvider); err != nil {
			sp.stop()
			_ = p.Shutdown(ctx)
			return nil, err
		}
	}
	go sp.run()
	return sp, nil
}

// DroppedSpansMetric is the name of the processor's drop counter.
const DroppedSpansMetric = "agentos.processor.spans.dropped"

func (sp *SpanProcessor) registerDrops(mp metric.MeterProvider) error {
	meter := mp.Meter("github.com/agentos-ai/agentos-otel/sdkbridge")
	c, err := meter.Int64ObservableCounter(DroppedSpansMetric,
		metric.WithDescription("Span starts and ends the live processor dropped because its queue was full, by span (child or root)."),
		metric.WithUnit("{span}"))
	if err != nil {
		return err
	}
	child := metric.WithAttributes(attribute.String("reason", "queue_full"), attribute.String("span", "child"))
	root := metric.WithAttributes(attribute.String("reason", "queue_full"), attribute.String("span", "root"))
	sp.reg, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(c, sp.dropped.Load(), child)
		o.ObserveInt64(c, sp.rootDropped.Load(), root)
		return nil
	}, c)
	return err
}

func (sp *SpanProcessor) isRoot(parent spans.SpanID, remote bool) bool {
	return !parent.IsValid() || (remote && sp.remoteRoot)
}

// OnStart copies what the span's start event needs and queues it; it never
// blocks. Attributes set after Start are not part of the start event.
func (sp *SpanProcessor) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	sc := s.SpanContext()
	if !sc.IsSampled() {
		return
	}
	parent := s.Parent()
	it := liveItem{
		kind:     itemStart,
		traceID:  spans.TraceID(sc.TraceID()),
		spanID:   spans.SpanID(sc.SpanID()),
		parentID: spans.SpanID(parent.SpanID()),
		remote:   parent.IsRemote(),
		name:     s.Name(),
		start:    s.StartTime(),
		attrs:    s.Attributes(),
		res:      s.Resource(),
	}
	it.root = sp.isRoot(it.parentID, it.remote)
	sp.enqueue(&it)
}

// OnEnd queues the ended span, which the SDK no longer changes; it never
// blocks.
func (sp *SpanProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	sc := s.SpanContext()
	if !sc.IsSampled() {
		return
	}
	parent := s.Parent()
	it := liveItem{kind: itemEnd, traceID: spans.TraceID(sc.TraceID()), ended: s}
	it.root = sp.isRoot(spans.SpanID(parent.SpanID()), parent.IsRemote())
	sp.enqueue(&it)
}

func (sp *SpanProcessor) enqueue(it *liveItem) {
	sp.mu.Lock()
	if sp.stopped {
		sp.mu.Unlock()
		return
	}
	n := sp.queued
	switch {
	case it.kind == itemBarrier:
	case !it.root && n >= sp.childCap:
		sp.dropped.Add(1)
		if sp.drops == nil {
			sp.drops = make(map[spans.TraceID]int)
		}
		if _, ok := sp.drops[it.traceID]; ok || len(sp.drops) < maxDropTraces {
			sp.drops[it.traceID]++
		}
		sp.mu.Unlock()
		return
	case n >= sp.rootCap:
		sp.rootDropped.Add(1)
		sp.mu.Unlock()
		return
	}
	if sp.tail == nil || sp.tail.n == chunkSize {
		c := sp.free
		if c != nil {
			sp.free, c.next = c.next, nil
			sp.nfree--
		} else {
			c = new(chunk)
		}
		if sp.tail == nil {
			sp.head = c
		} else {
			sp.tail.next = c
		}
		sp.tail = c
	}
	sp.tail.items[sp.tail.n] = *it
	sp.tail.n++
	sp.queued++
	sp.mu.Unlock()
	if n == 0 {
		select {
		case sp.wake <- struct{}{}:
		default:
		}
	}
}

// DroppedSpans is how many span starts and ends were dropped on a full
// queue: children past the queue size, roots only past their reserve.
func (sp *SpanProcessor) DroppedSpans() int64 { return sp.dropped.Load() + sp.rootDropped.Load() }

// liveBatch bounds how many queued spans the worker hands over at once.
const liveBatch = 256

// maxDropTraces bounds the traces whose drop counts wait for their root's
// end; past it some counts are only logged and counted, not shown on runs.
const maxDropTraces = 1 << 16

// dropLogInterval rate-limits the log line about drops.
const dropLogInterval = 10 * time.Second

// run is the one goroutine that reads spans: it takes the whole queue at
// once, converts off the instrumented program's hot path, and hands spans
// over in batches so that it keeps up with bursts.
func (sp *SpanProcessor) run() {
	defer close(sp.done)
	w := worker{sp: sp, conv: newConverter(), batch: make([]pipeline.LiveSpan, 0, liveBatch)}
	for {
		sp.mu.Lock()
		for sp.pause != nil {
			pause := sp.pause
			sp.mu.Unlock()
			<-pause
			sp.mu.Lock()
		}
		head, queued, stopped := sp.head, sp.queued, sp.stopped
		sp.head, sp.tail, sp.queued = nil, nil, 0
		drops := sp.drops
		sp.drops = nil
		sp.mu.Unlock()

		w.addDrops(drops)
		for c := head; c != nil; {
			next := c.next
			w.process(c.items[:c.n])
			sp.recycle(c)
			c = next
		}
		w.hand()
		w.logDrops(false)

		if queued > 0 {
			continue
		}
		if stopped {
			w.logDrops(true)
			return
		}
		<-sp.wake
	}
}

// worker is the state of the goroutine that drains the queue.
type worker struct {
	sp    *SpanProcessor
	conv  *converter
	batch []pipeline.LiveSpan
	// drops counts dropped children per trace until its root ends.
	drops      map[spans.TraceID]int
	logged     int64 // drops already logged
	rootLogged int64
	lastLog    time.Time
}

func (w *worker) addDrops(d map[spans.TraceID]int) {
	if len(d) == 0 {
		return
	}
	if w.drops == nil {
		w.drops = make(map[spans.TraceID]int, len(d))
	}
	for id, n := range d {
		if _, ok := w.drops[id]; !ok && len(w.drops) >= maxDropTraces {
			// Counts of traces whose root ended before their drops, or
			// never ends, would otherwise pile up here.
			clear(w.drops)
		}
		w.drops[id] += n
	}
}

// maxFreeChunks bounds the emptied chunks kept for reuse.
const maxFreeChunks = 64

func (sp *SpanProcessor) recycle(c *chunk) {
	clear(c.items[:c.n])
	c.n, c.next = 0, nil
	sp.mu.Lock()
	if sp.nfree < maxFreeChunks {
		c.next = sp.free
		sp.free = c
		sp.nfree++
	}
	sp.mu.Unlock()
}

func (w *worker) process(items []liveItem) {
	for i := range items {
		it := &items[i]
		switch it.kind {
		case itemBarrier:
			w.hand()
			close(it.flushed)
			continue
		case itemStart:
			w.batch = append(w.batch, pipeline.LiveSpan{Span: w.conv.started(it)})
		case itemEnd:
			ls := pipeline.LiveSpan{Span: w.conv.span(it.ended), Ended: true}
			w.sp.logs.buf.AttachOne(time.Now(), &ls.Span)
			if it.root {
				w.noteDrops(&ls.Span)
			}
			w.batch = append(w.batch, ls)
		}
		if len(w.batch) == liveBatch {
			w.hand()
		}
	}
}

func (w *worker) hand() {
	if len(w.batch) == 0 {
		return
	}
	_ = w.sp.p.Live(w.sp.stopping, w.batch)
	clear(w.batch)
	w.batch = w.batch[:0]
}

// Keys of the warn event a run gets when some of its spans were dropped.
const (
	droppedEventName = "spans.dropped"
	droppedMessage   = "the live span processor's queue was full: span starts or ends of this run were dropped, its timeline is incomplete"
)

// noteDrops adds to a run root's end a warn span event counting the
// children of its trace that were dropped, so the timeline says so.
func (w *worker) noteDrops(root *spans.Span) {
	n, ok := w.drops[root.TraceID]
	if !ok {
		return
	}
	delete(w.drops, root.TraceID)
	root.Events = append(root.Events, spans.Event{
		Name: droppedEventName,
		Time: root.EndTime,
		Attrs: []spans.Attr{
			{Key: "agentos.level", Value: spans.StringValue("warn")},
			{Key: "count", Value: spans.IntValue(int64(n))},
			{Key: "message", Value: spans.StringValue(droppedMessage)},
		},
	})
}

// logDrops logs new drops at most every dropLogInterval, or now when final.
func (w *worker) logDrops(final bool) {
	child, root := w.sp.dropped.Load(), w.sp.rootDropped.Load()
	if child == w.logged && root == w.rootLogged {
		return
	}
	now := time.Now()
	if !final && !w.lastLog.IsZero() && now.Sub(w.lastLog) < dropLogInterval {
		return
	}
	level := slog.LevelWarn
	if root > w.rootLogged {
		level = slog.LevelError
	}
	w.sp.log.Log(context.Background(), level, "agentos: live span processor queue full, span starts and ends dropped",
		slog.Int64("dropped", child-w.logged), slog.Int64("dropped_roots", root-w.rootLogged),
		slog.Int64("dropped_total", child+root), slog.String("queue_size", strconv.Itoa(w.sp.childCap)))
	w.logged, w.rootLogged, w.lastLog = child, root, now
}

// ForceFlush waits until every span queued before the call is handed to
// the core, closes runs whose root has ended and delivers what is queued.
func (sp *SpanProcessor) ForceFlush(ctx context.Context) error {
	barrier := make(chan struct{})
	sp.mu.Lock()
	stopped := sp.stopped
	sp.mu.Unlock()
	if stopped {
		return errProcessorShutdown
	}
	sp.enqueue(&liveItem{kind: itemBarrier, flushed: barrier})
	select {
	case <-barrier:
	case <-sp.done: // shut down meanwhile; the barrier may not have been queued
		return errProcessorShutdown
	case <-ctx.Done():
		return ctx.Err()
	}
	return publicError(sp.p.Flush(ctx))
}

// backgroundShutdownBudget bounds how long a shutdown goes on after the
// caller's context ended.
const backgroundShutdownBudget = 30 * time.Second

// Shutdown hands over what is queued, closes every run (a root still open is
// closed as failed, saying why) and delivers. It runs once; later calls
// return nil, as sdktrace's processors do. When ctx ends first, Shutdown
// returns ctx.Err() and the shutdown goes on in the background for at most
// 30 s more, so runs are still closed and no goroutine is left behind.
func (sp *SpanProcessor) Shutdown(ctx context.Context) error {
	first := false
	var cancel context.CancelFunc
	sp.shutdownOnce.Do(func() {
		first = true
		sp.mu.Lock()
		sp.stopped = true
		sp.mu.Unlock()
		sp.stop()
		select {
		case sp.wake <- struct{}{}:
		default:
		}
		var bg context.Context
		bg, cancel = context.WithCancel(context.WithoutCancel(ctx))
		go func() {
			defer close(sp.shutdownDone)
			defer cancel()
			<-sp.done
			if sp.reg != nil {
				_ = sp.reg.Unregister()
			}
			sp.logs.buf.Close()
			sp.shutdownErr = publicError(sp.p.Shutdown(bg))
		}()
	})
	if !first {
		return nil
	}
	select {
	case <-sp.shutdownDone:
		return sp.shutdownErr
	case <-ctx.Done():
		time.AfterFunc(backgroundShutdownBudget, cancel)
		return ctx.Err()
	}
}

// shutdownError names what was shut down and matches ErrShutdown.
type shutdownError struct{ what string }

func (e shutdownError) Error() string        { return "agentos: " + e.what + " is shut down" }
func (e shutdownError) Is(target error) bool { return target == ErrShutdown }

var errProcessorShutdown error = shutdownError{"span processor"}
