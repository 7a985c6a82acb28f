package sdkbridge

import (
	"cmp"
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
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
// The queue and the core behind it share Limits.MaxBufferedBytes: the
// core (spans held, requests waiting for delivery) takes up to 7/8 of it,
// and the queue takes a child span's start or end while the queue's
// estimated bytes and the core's together stay within that 7/8. The last
// 1/8 is the run roots' reserve: a root's start or end is queued while
// both stay within the whole budget. The queue also holds at most
// WithQueueSize starts and ends of child spans, and 16 times that (at most
// 65536) more of roots. A start or end past these bounds is dropped and
// counted (DroppedSpans, and the metric agentos.processor.spans.dropped
// with reason queue_full or buffer_full and span child or root), logged
// at most every 10 s with counts, and the run whose child was dropped gets
// a warn event "spans.dropped" {count} at its root's end, so its timeline
// says it is incomplete. So while AgentOS is down, what the processor holds
// stays within MaxBufferedBytes, and runs keep their start and their end,
// with their own status, as long as the roots' reserve lasts.
//
// Spans that are not sampled are ignored, as sdktrace's BatchSpanProcessor
// does.
type SpanProcessor struct {
	p          *pipeline.Pipeline
	logs       *logJoin // see LogExporter
	log        *slog.Logger
	remoteRoot bool
	childCap   int   // queued items past which child spans are dropped
	rootCap    int   // queued items past which even roots are dropped
	budget     int64 // MaxBufferedBytes: bytes past which even roots are dropped
	childBytes int64 // bytes past which child spans are dropped
	batchBytes int64 // a batch handed to the core holds about this much at most
	// stopping ends when Shutdown starts, so that a worker waiting for room
	// at the memory bound hands over what is queued instead.
	stopping context.Context
	stop     context.CancelFunc

	mu sync.Mutex
	q  liveQueue
	// What is weighed against the budget, with q.bytes: handing is the
	// batch the worker is handing to the core, core the core's bytes as the
	// worker last read them (they only grow by what the worker hands).
	handing int64
	core    int64
	drops   map[spans.TraceID]int // child drops per trace since the worker last looked
	stopped bool
	wake    chan struct{} // one token: the queue went from empty to not
	// poke has a token when a span was dropped at the byte bound: the core
	// may have delivered since the worker last read its bytes.
	poke  chan struct{}
	pause chan struct{} // tests: the worker waits for it to close

	dropped [2][2]atomic.Int64 // by span (child, root) and reason
	reg     metric.Registration

	done         chan struct{} // the worker has drained the queue and exited
	shutdownOnce sync.Once
	shutdownDone chan struct{}
	shutdownErr  error
}

var _ sdktrace.SpanProcessor = (*SpanProcessor)(nil)

// Run roots have room beyond the child queue: rootReserveFactor times it,
// at most maxRootReserve items.
const (
	rootReserveFactor = 16
	maxRootReserve    = 1 << 16
)

// rootReserveShare: a run root's start and end may use the last
// 1/rootReserveShare of MaxBufferedBytes, which child spans may not.
const rootReserveShare = 8

// maxBatchBytes bounds the estimated bytes of a batch handed to the core,
// by which the core may overshoot its share of the budget.
const maxBatchBytes = 1 << 20

// Why a span start or end was dropped, and whose: indexes of
// SpanProcessor.dropped.
const (
	reasonQueueFull  = 0 // WithQueueSize items
	reasonBufferFull = 1 // MaxBufferedBytes
	spanChild        = 0
	spanRoot         = 1
)

// NewSpanProcessor returns a live SpanProcessor configured like NewExporter.
// Register it with sdktrace.WithSpanProcessor; it replaces, rather than
// joins, an Exporter for the same spans.
func NewSpanProcessor(ctx context.Context, opts ...Option) (*SpanProcessor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var budget int64
	p, c, err := newPipeline(opts, func(pc *pipeline.Config) {
		// The core gets what the roots' reserve leaves.
		budget = cmp.Or(pc.MaxBufferedBytes, pipeline.DefaultMaxBufferedBytes)
		pc.MaxBufferedBytes = budget - budget/rootReserveShare
	})
	if err != nil {
		return nil, err
	}
	log := c.logger
	if log == nil {
		log = slog.Default()
	}
	reserve := budget / rootReserveShare
	sp := &SpanProcessor{
		p: p, logs: newLogJoin(c, p), log: log, remoteRoot: c.remoteRoot,
		childCap: c.queueSize, rootCap: c.queueSize + min(rootReserveFactor*c.queueSize, maxRootReserve),
		budget: budget, childBytes: budget - reserve, batchBytes: max(1, min(reserve/4, maxBatchBytes)),
		wake: make(chan struct{}, 1), poke: make(chan struct{}, 1),
		done: make(chan struct{}), shutdownDone: make(chan struct{}),
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
		metric.WithDescription("Span starts and ends the live processor dropped, by reason (queue_full: WithQueueSize; buffer_full: MaxBufferedBytes) and span (child or root)."),
		metric.WithUnit("{span}"))
	if err != nil {
		return err
	}
	var attrs [2][2]metric.ObserveOption
	for span, sname := range []string{"child", "root"} {
		for reason, rname := range []string{"queue_full", "buffer_full"} {
			attrs[span][reason] = metric.WithAttributes(attribute.String("reason", rname), attribute.String("span", sname))
		}
	}
	sp.reg, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for span := range attrs {
			for reason := range attrs[span] {
				o.ObserveInt64(c, sp.dropped[span][reason].Load(), attrs[span][reason])
			}
		}
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
	it.size = startSize(&it)
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
	it := liveItem{kind: itemEnd, traceID: spans.TraceID(sc.TraceID()), spanID: spans.SpanID(sc.SpanID()), ended: s}
	it.root = sp.isRoot(spans.SpanID(parent.SpanID()), parent.IsRemote())
	it.size = endSize(s)
	sp.enqueue(&it)
}

func (sp *SpanProcessor) enqueue(it *liveItem) {
	sp.mu.Lock()
	if sp.stopped {
		sp.mu.Unlock()
		return
	}
	n := sp.q.items
	if it.kind != itemBarrier {
		span, items, bytes := spanChild, sp.childCap, sp.childBytes
		if it.root {
			span, items, bytes = spanRoot, sp.rootCap, sp.budget
		}
		reason := -1
		switch {
		case n >= items:
			reason = reasonQueueFull
		case sp.q.bytes+sp.handing+sp.core+it.size > bytes:
			reason = reasonBufferFull
		}
		if reason >= 0 {
			if span == spanChild {
				if sp.drops == nil {
					sp.drops = make(map[spans.TraceID]int)
				}
				if _, ok := sp.drops[it.traceID]; ok || len(sp.drops) < maxDropTraces {
					sp.drops[it.traceID]++
				}
			}
			sp.mu.Unlock()
			sp.dropped[span][reason].Add(1)
			if reason == reasonBufferFull {
				select {
				case sp.poke <- struct{}{}:
				default:
				}
			}
			return
		}
	}
	if it.kind != itemEnd || !sp.q.endLast(it) {
		sp.q.push(it)
	}
	sp.mu.Unlock()
	if n == 0 {
		select {
		case sp.wake <- struct{}{}:
		default:
		}
	}
}

// DroppedSpans is how many span starts and ends were dropped on a full
// queue or at the memory bound: children past the queue size or their
// share of MaxBufferedBytes, roots only past their reserve.
func (sp *SpanProcessor) DroppedSpans() int64 {
	var n int64
	for span := range sp.dropped {
		for reason := range sp.dropped[span] {
			n += sp.dropped[span][reason].Load()
		}
	}
	return n
}

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
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		sp.mu.Lock()
		for sp.pause != nil {
			pause := sp.pause
			sp.mu.Unlock()
			<-pause
			sp.mu.Lock()
		}
		head, queued := sp.q.take()
		stopped := sp.stopped
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
		sp.idle(timer)
	}
}

// Intervals at which an idle worker reads the core's bytes again: while
// it holds any, and at most this often when spans are dropped for them.
const (
	coreRefresh = 50 * time.Millisecond
	pokeGap     = time.Millisecond
)

// idle waits for spans to be queued. Meanwhile deliveries free the core's
// memory, which the queue only learns from the worker: so while the core
// holds any, and when a span was dropped for want of room, the worker
// reads its bytes again.
func (sp *SpanProcessor) idle(t *time.Timer) {
	for {
		sp.mu.Lock()
		holds := sp.core > 0
		sp.mu.Unlock()
		var tick <-chan time.Time
		if holds {
			t.Reset(coreRefresh)
			tick = t.C
		}
		select {
		case <-sp.wake:
			t.Stop()
			return
		case <-tick:
		case <-sp.poke:
			// Drops come one per span: read at most once per pokeGap.
			t.Reset(pokeGap)
			select {
			case <-sp.wake:
				t.Stop()
				return
			case <-t.C:
			}
		}
		sp.readCore()
	}
}

// readCore records the core's bytes, once the batch being handed is in
// them.
func (sp *SpanProcessor) readCore() {
	b := sp.p.BufferedBytes()
	sp.mu.Lock()
	sp.core, sp.handing = b, 0
	sp.mu.Unlock()
}

// worker is the state of the goroutine that drains the queue.
type worker struct {
	sp    *SpanProcessor
	conv  *converter
	batch []pipeline.LiveSpan
	// arena holds the attributes of the batch's child spans, until the
	// batch is handed over.
	arena attrArena
	// batchBytes is the queue's estimate of what batch came from.
	batchBytes int64
	// drops counts dropped children per trace until its root ends.
	drops   map[spans.TraceID]int
	logged  [2][2]int64 // drops already logged
	lastLog time.Time
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

func (sp *SpanProcessor) recycle(c *chunk) {
	clear(c.items[:c.n])
	c.n, c.next = 0, nil
	sp.mu.Lock()
	sp.q.reuse(c)
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
			if it.ended != nil && len(w.batch) > liveBatch-2 {
				w.hand() // its start and end go in the same batch
			}
			// Converted in place: a span is too big to copy for nothing.
			w.batch = append(w.batch, pipeline.LiveSpan{})
			w.conv.started(&w.batch[len(w.batch)-1].Span, it, w.arenaFor(it))
			if it.ended != nil {
				w.batch = append(w.batch, pipeline.LiveSpan{Ended: true})
				ls := &w.batch[len(w.batch)-1]
				w.conv.endedAfter(&ls.Span, &w.batch[len(w.batch)-2].Span, it, w.arenaFor(it))
				if it.root {
					w.noteDrops(&ls.Span)
				}
			}
		case itemEnd:
			w.batch = append(w.batch, pipeline.LiveSpan{Ended: true})
			ls := &w.batch[len(w.batch)-1]
			w.conv.spanInto(&ls.Span, it.ended, w.arenaFor(it))
			if it.root {
				w.noteDrops(&ls.Span)
			}
		}
		w.batchBytes += it.size
		if len(w.batch) >= liveBatch || w.batchBytes >= w.sp.batchBytes {
			w.hand()
		}
	}
}

// arenaFor is where the item's attributes are converted: the arena for a
// child span, nil (allocated) for a run root, which its run keeps.
func (w *worker) arenaFor(it *liveItem) *attrArena {
	if it.root {
		return nil
	}
	return &w.arena
}

// hand gives the batch to the core. Its bytes leave the queue's count for
// handing's until the core counts them.
func (w *worker) hand() {
	if len(w.batch) == 0 {
		return
	}
	sp := w.sp
	sp.mu.Lock()
	sp.q.bytes -= w.batchBytes
	sp.handing = w.batchBytes
	sp.mu.Unlock()
	_ = sp.p.Live(sp.stopping, w.batch)
	w.arena.reset()
	clear(w.batch)
	w.batch, w.batchBytes = w.batch[:0], 0
	sp.readCore()
}

// Keys of the warn event a run gets when some of its spans were dropped.
const (
	droppedEventName = "spans.dropped"
	droppedMessage   = "the live span processor's queue or memory bound was full: span starts or ends of this run were dropped, its timeline is incomplete"
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
	var now, d [2][2]int64
	var total int64
	for span := range now {
		for reason := range now[span] {
			now[span][reason] = w.sp.dropped[span][reason].Load()
			d[span][reason] = now[span][reason] - w.logged[span][reason]
			total += now[span][reason]
		}
	}
	if d == ([2][2]int64{}) {
		return
	}
	t := time.Now()
	if !final && !w.lastLog.IsZero() && t.Sub(w.lastLog) < dropLogInterval {
		return
	}
	level := slog.LevelWarn
	if d[spanRoot][reasonQueueFull]+d[spanRoot][reasonBufferFull] > 0 {
		level = slog.LevelError
	}
	w.sp.log.Log(context.Background(), level, "agentos: live span processor queue full, span starts and ends dropped",
		slog.Int64("dropped", d[spanChild][reasonQueueFull]+d[spanChild][reasonBufferFull]),
		slog.Int64("dropped_roots", d[spanRoot][reasonQueueFull]+d[spanRoot][reasonBufferFull]),
		slog.Int64("dropped_queue_full", d[spanChild][reasonQueueFull]+d[spanRoot][reasonQueueFull]),
		slog.Int64("dropped_buffer_full", d[spanChild][reasonBufferFull]+d[spanRoot][reasonBufferFull]),
		slog.Int64("dropped_total", total),
		slog.String("queue_size", strconv.Itoa(w.sp.childCap)),
		slog.Int64("max_buffered_bytes", w.sp.budget))
	w.logged, w.lastLog = now, t
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
