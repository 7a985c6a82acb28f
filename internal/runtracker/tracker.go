package runtracker

import (
	"cmp"
	"fmt"
	"time"
	"unsafe"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// flushThreshold sends a started run's pending events before the next tick
// once this many have piled up, bounding memory per run.
const flushThreshold = 512

// Tracker turns ended spans into the ops of AgentOS runs. It is not safe for
// concurrent use: its owner serialises calls and supplies the time, so every
// decision is reproducible in tests.
type Tracker struct {
	m     *mapping.Mapper
	opts  Options
	tasks bool

	traces map[spans.TraceID]*trace
	// all links every trace in arrival order, for Tick; cold the traces
	// without a started run open, evicted before any started run is.
	all, cold traceList
	held      int
	// bytes estimates what held spans and pending events occupy.
	bytes   int64
	closed  closedSet
	late    lateReport
	nextKey RunKey
	stats   Stats

	ops []Op
	// opsHint is how many ops the last call that emitted any returned,
	// so that the next one allocates its slice once.
	opsHint int
	// liveOpsHint is opsHint for Live, whose calls mostly emit a few run
	// starts: a Tick's or a Flush's count would oversize their slices.
	liveOpsHint int
	// staging is set while Live runs, and staged lists the runs whose
	// timelines it staged (see stage).
	staging bool
	staged  []*run
	// recent is the trace of the last span: spans of a trace mostly come
	// together, so most look-ups need no hashing.
	recent  *trace
	retired []spans.TraceID // with Options.ReportRetired
	// joinLogs defers mapping, so that log records which come after their
	// span still join it (see AttachLogs).
	joinLogs bool
	// lent is Add's batch while it runs: spans held meanwhile point into
	// it, and lentTo lists their traces, whose held spans still in the
	// batch are copied out before Add returns. Most are resolved by their
	// root in the same batch, and need no copy.
	lent   []spans.Span
	lentTo []*trace
	// spareNodes hold the node maps of retired traces, emptied, for new
	// traces: one of 50 spans otherwise grows a slice, then a map, of its
	// own.
	spareNodes []idMap[node]
}

// At most maxSpareNodes node maps of retired traces are kept, each of a
// trace of at most maxSpareNodeIDs spans: a few hundred KB at most.
const (
	maxSpareNodes   = 16
	maxSpareNodeIDs = 512
)

type trace struct {
	id      spans.TraceID
	created time.Time
	nodes   idMap[node]
	held    []*spans.Span
	// heldEvents and heldBytes estimate the events and payload bytes the
	// held spans will make, so that their run makes room at once.
	heldEvents, heldBytes int
	// waitingOn counts held spans by the parent they wait for, so that only
	// the arrival of such a parent sends the tracker through held spans.
	waitingOn   idMap[int]
	runs        []*run
	waitExpired bool
	lent        bool // on Tracker.lentTo
	// started counts its started runs not closed yet; with none the trace
	// is on the cold list. An int32 beside waitExpired takes no room.
	started int32
	// park is set while the trace's wait has expired with no run that its
	// held spans could start: they stay held for their root.
	park               *parking
	arrival, coldLinks links // on Tracker.all, Tracker.cold
	// runsArray holds a trace's first run, as most traces have one. The run
	// itself is not embedded: a trace whose spans wait for their root has
	// none yet, and would hold its 400-odd bytes for nothing.
	runsArray [1]*run
}

// node is what the tracker remembers of a span to place its descendants.
type node struct {
	parent spans.SpanID
	run    *run
	depth  int
}

type run struct {
	key     RunKey
	index   int // among its trace's runs, for the journal
	agentID string
	// external is the external_run_id its run/start sent, kept only when
	// it is not the trace id: the hex would keep 32 bytes per open run.
	external string
	root     *spans.Span // nil until the run root arrives
	selected bool
	live     bool // started by the live span processor
	staged   bool // on Tracker.staged
	started  bool
	closed   bool
	closeAt  time.Time
	lastSeen time.Time
	opened   time.Time // when the tracker created it, for MaxRunDuration
	first    earliest  // of its spans, to start the run without its root
	// open holds the live spans whose start event was sent and whose end
	// was not seen yet, so their end event pairs with it.
	open    idMap[openSpan]
	pending mapping.Timeline
	// deferred are spans not mapped into pending yet (with JoinLogs).
	deferred []deferredSpan
	tasks    []agentosapi.Task
	sum      mapping.Summary
	// pendingBytes estimates what pending events and tasks occupy.
	pendingBytes int64
}

// earliest is what a run keeps of its earliest span: what starting the run
// without its root needs, not the whole span.
type earliest struct {
	traceID  spans.TraceID
	name     string
	start    time.Time
	attrs    []spans.Attr
	resource *spans.Resource
}

func earliestOf(s *spans.Span) earliest {
	return earliest{traceID: s.TraceID, name: s.Name, start: s.StartTime, attrs: s.Attrs, resource: s.Resource}
}

// span rebuilds the parts of the span that OrphanStartRequest reads.
func (e *earliest) span() spans.Span {
	return spans.Span{TraceID: e.traceID, Name: e.name, StartTime: e.start, Attrs: e.attrs, Resource: e.resource}
}

// New returns a Tracker. opts are completed with defaults.
func New(m *mapping.Mapper, opts Options) (*Tracker, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Tracker{
		m:      m,
		opts:   opts,
		tasks:  m.Options().Tasks,
		traces: make(map[spans.TraceID]*trace),
		closed: newClosedSet(2 * opts.MaxOpenRuns),
		cold:   traceList{cold: true},
	}, nil
}

// Stats returns the counters and current holdings.
func (t *Tracker) Stats() Stats {
	s := t.stats
	s.HeldSpans = t.held
	s.OpenTraces = len(t.traces)
	s.Bytes = t.bytes
	return s
}

// Bytes estimates the memory held for spans waiting for their root and for
// events not yet emitted as ops.
func (t *Tracker) Bytes() int64 { return t.bytes }

// hold keeps a span until its run is known.
func (t *Tracker) hold(tr *trace, s *spans.Span) {
	// A copy of its own (held in a slice of values, a run of 9 spans kept
	// 16 slots of 184 bytes), made once Add ends if it is still held.
	held := s
	if t.lent == nil {
		held = t.keep(s)
	} else if !tr.lent {
		tr.lent = true
		t.lentTo = append(t.lentTo, tr)
	}
	tr.held = append(tr.held, held)
	n, _ := tr.waitingOn.get(s.ParentSpanID)
	tr.waitingOn.set(s.ParentSpanID, n+1)
	size := s.Size()
	tr.heldEvents += 2 + len(s.Events)
	tr.heldBytes += size
	t.held++
	t.bytes += int64(size)
}

// unhold accounts for held spans that left tr.held.
func (t *Tracker) unhold(tr *trace, ss []*spans.Span) {
	t.held -= len(ss)
	for _, s := range ss {
		size := s.Size()
		tr.heldEvents -= 2 + len(s.Events)
		tr.heldBytes -= size
		t.bytes -= int64(size)
		if n, _ := tr.waitingOn.get(s.ParentSpanID); n > 1 {
			tr.waitingOn.set(s.ParentSpanID, n-1)
		} else {
			tr.waitingOn.delete(s.ParentSpanID)
		}
	}
}

// rehomeAfter assigns the held spans that s was the missing link for, if
// any: one pass resolves every held descendant, since runOf walks up to
// the nearest ancestor with a run.
func (t *Tracker) rehomeAfter(now time.Time, tr *trace, s *spans.Span) {
	if n, _ := tr.waitingOn.get(s.SpanID); n > 0 {
		r, _ := tr.runOf(s)
		if r != nil && r.selected && !r.closed {
			r.pending.Reserve(min(tr.heldEvents, flushThreshold), tr.heldBytes)
			if !t.joinLogs {
				// Their payloads then take the bytes they need, not an estimate.
				r.pending.Stage()
				defer r.pending.Settle()
			}
		}
		t.rehome(now, tr)
	}
}

// charge accounts for the events a span adds to its run until they are
// emitted; a span's size stands for its events, which carry its content.
func (t *Tracker) charge(r *run, s *spans.Span) {
	n := int64(s.Size())
	r.pendingBytes += n
	t.bytes += n
}

func (t *Tracker) take() []Op {
	ops := t.ops
	t.ops = nil
	if len(ops) > 0 {
		t.opsHint = min(len(ops), maxOpsHint)
	}
	return ops
}

// maxOpsHint bounds the op slice allocated ahead.
const maxOpsHint = 1024

func (t *Tracker) emit(op Op) {
	if t.ops == nil {
		t.ops = make([]Op, 0, max(t.opsHint, 4))
	}
	t.ops = append(t.ops, op)
}

// trace returns the open trace id, or nil.
func (t *Tracker) trace(id spans.TraceID) *trace {
	if t.recent != nil && t.recent.id == id {
		return t.recent
	}
	tr := t.traces[id]
	if tr != nil {
		t.recent = tr
	}
	return tr
}

// Add takes a batch of ended spans and returns the ops that are due now.
// It keeps no pointer into batch once it returns (the spans it keeps it
// copies, sharing their attributes and events unless Options.LentAttrs),
// so a caller may reuse it.
func (t *Tracker) Add(now time.Time, batch []spans.Span) []Op {
	t.lent = batch
	for i := range batch {
		t.add(now, &batch[i])
	}
	t.keepLent()
	return t.take()
}

// keepLent copies the held spans that still point into Add's batch, which
// the tracker must not keep.
func (t *Tracker) keepLent() {
	if len(t.lent) > 0 {
		lo, hi := uintptr(unsafe.Pointer(&t.lent[0])), uintptr(unsafe.Pointer(&t.lent[len(t.lent)-1]))
		for _, tr := range t.lentTo {
			tr.lent = false
			for i, s := range tr.held {
				if p := uintptr(unsafe.Pointer(s)); p < lo || p > hi {
					continue
				}
				c := t.keep(s)
				if tr.park != nil && tr.park.earliest == s {
					tr.park.earliest = c
				}
				tr.held[i] = c
			}
		}
	}
	clear(t.lentTo)
	t.lentTo = t.lentTo[:0]
	t.lent = nil
}

// keep returns a copy of s for the tracker to keep; with LentAttrs, its
// attributes and span events are copied too.
func (t *Tracker) keep(s *spans.Span) *spans.Span {
	c := new(spans.Span)
	*c = *s
	if t.opts.LentAttrs {
		c.Attrs = ownAttrs(s.Attrs)
		if len(s.Events) > 0 {
			c.Events = make([]spans.Event, len(s.Events))
			for i := range s.Events {
				c.Events[i] = s.Events[i]
				c.Events[i].Attrs = ownAttrs(s.Events[i].Attrs)
			}
		}
	}
	return c
}

// ownAttrs copies attrs (nil stays nil), capped so that appending copies.
func ownAttrs(attrs []spans.Attr) []spans.Attr {
	if attrs == nil {
		return nil
	}
	c := make([]spans.Attr, len(attrs))
	copy(c, attrs)
	return c
}

// earliestOf is the package's earliestOf, its attributes copied with
// LentAttrs.
func (t *Tracker) earliestOf(s *spans.Span) earliest {
	e := earliestOf(s)
	if t.opts.LentAttrs {
		e.attrs = ownAttrs(e.attrs)
	}
	return e
}

func (t *Tracker) isRunRoot(s *spans.Span) bool {
	return !s.HasParent() || (s.ParentRemote && t.opts.RemoteParentIsRoot)
}

func (t *Tracker) add(now time.Time, s *spans.Span) {
	tr := t.trace(s.TraceID)
	if tr == nil {
		if ct, ok := t.closed.get(s.TraceID); ok {
			switch {
			case !t.isRunRoot(s):
				t.lateToClosed(s.TraceID, ct.ext, lateEvents(s))
				return
			case ct.hadRoot(s.SpanID):
				// Its run was closed from it already: sent twice.
				t.stats.SpansDuplicate++
				return
			}
		}
		tr = t.newTrace(now, s.TraceID)
	}
	if tr.nodes.has(s.SpanID) {
		t.stats.SpansDuplicate++
		return
	}
	t.stats.SpansAccepted++
	if tr.nodes.len() < t.opts.MaxSpansPerTrace {
		tr.nodes.set(s.SpanID, node{parent: s.ParentSpanID})
	}
	if t.isRunRoot(s) {
		t.addRoot(now, tr, s)
		return
	}
	if r, depth := tr.runOf(s); r != nil {
		t.assign(now, tr, r, s, depth)
		t.rehomeAfter(now, tr, s)
		return
	}
	if tr.waitExpired {
		t.placeUnresolved(now, tr, s)
		t.evictHeld(now)
		return
	}
	t.hold(tr, s)
	if len(tr.held) >= t.opts.MaxSpansPerTrace {
		t.expireWait(now, tr, "the trace held too many spans before its root arrived")
		if tr.park != nil {
			// Nothing selects it yet: its spans go rather than exceed the bound.
			t.dropParked(tr)
			t.retireIfDone(tr)
		}
	}
	t.evictHeld(now)
}

// evictHeld evicts traces while more than MaxHeldSpans spans are held.
func (t *Tracker) evictHeld(now time.Time) {
	for t.held > t.opts.MaxHeldSpans {
		victim := t.victim()
		if victim == nil {
			return
		}
		t.evict(now, victim, fmt.Sprintf("evicted: the bridge held more than %d spans", t.opts.MaxHeldSpans))
		if t.traces[victim.id] == victim {
			return // not retired: evicting again would not help
		}
	}
}

func (t *Tracker) newTrace(now time.Time, id spans.TraceID) *trace {
	for len(t.traces) >= t.opts.MaxOpenRuns {
		victim := t.victim()
		if victim == nil {
			break
		}
		t.evict(now, victim, fmt.Sprintf("evicted: the bridge tracked more than %d traces", t.opts.MaxOpenRuns))
		if t.traces[victim.id] == victim {
			break // not retired: evicting again would not help
		}
	}
	tr := &trace{id: id, created: now}
	tr.runs = tr.runsArray[:0]
	if n := len(t.spareNodes); n > 0 {
		tr.nodes, t.spareNodes[n-1] = t.spareNodes[n-1], idMap[node]{}
		t.spareNodes = t.spareNodes[:n-1]
	}
	t.traces[id] = tr
	t.all.push(tr)
	t.cold.push(tr)
	return tr
}

// runOf finds the run of a span, through its parent when the span itself
// was not recorded (the trace reached MaxSpansPerTrace).
func (tr *trace) runOf(s *spans.Span) (*run, int) {
	if n, ok := tr.nodes.get(s.SpanID); ok {
		if n.run != nil {
			return n.run, n.depth // most spans: no second look-up
		}
		return tr.resolve(s.SpanID)
	}
	r, depth := tr.resolve(s.ParentSpanID)
	return r, depth + 1
}

// resolve finds the run of a span by walking its known ancestors.
func (tr *trace) resolve(id spans.SpanID) (*run, int) {
	cur := id
	for steps := 0; steps <= tr.nodes.len(); steps++ {
		n, ok := tr.nodes.get(cur)
		if !ok {
			return nil, 0
		}
		if n.run != nil {
			return n.run, n.depth + steps
		}
		cur = n.parent
	}
	return nil, 0 // a cycle of parent ids
}

func (t *Tracker) newRun(now time.Time, tr *trace, first *spans.Span) *run {
	return t.newRunFrom(now, tr, t.earliestOf(first))
}

// newRunFrom is newRun with what it keeps of its first span.
func (t *Tracker) newRunFrom(now time.Time, tr *trace, first earliest) *run {
	t.nextKey++
	r := &run{key: t.nextKey, index: len(tr.runs), lastSeen: now, opened: now, first: first}
	tr.runs = append(tr.runs, r)
	return r
}

// validAgent decides whether a run can be reported at all.
func (t *Tracker) validAgent(id string) bool { return agentosapi.IsUUID(id) }

func (t *Tracker) addRoot(now time.Time, tr *trace, s *spans.Span) {
	agent := t.m.AgentID(s)
	selected := t.m.Selects(s) && t.validAgent(agent)
	var r *run
	if !s.HasParent() {
		// A run started without its root is the root's only if the root
		// selects it for the same agent: selection is the root's to decide.
		if cand := tr.rootless(); cand != nil {
			if selected && cand.agentID == agent {
				r = cand
			} else {
				t.closeRun(tr, cand, t.rejectedReason(s, agent, selected))
			}
		}
	}
	root := t.keep(s)
	if r == nil {
		r = t.newRunFrom(now, tr, earliestOf(root))
		r.agentID = agent
		r.selected = selected
		if !t.validAgent(agent) {
			t.stats.SpansNoAgent++
		}
	}
	r.root = root
	r.closeAt = now.Add(t.opts.Grace)
	tr.setNode(s.SpanID, s.ParentSpanID, r, 0)
	t.assign(now, tr, r, s, 0)
	t.rehomeAfter(now, tr, s)
	if tr.park != nil && !s.HasParent() {
		t.unpark(now, tr, r)
	}
}

// rootless returns the trace's open run that started without its root,
// if any. Such a run is always selected and started: a trace that would
// start an unselected one is parked instead.
func (tr *trace) rootless() *run {
	for _, r := range tr.runs {
		if r.root == nil && !r.closed && !r.live {
			return r
		}
	}
	return nil
}

// rejectedReason says why a run started before its root was closed when
// the root arrived.
func (t *Tracker) rejectedReason(root *spans.Span, agent string, selected bool) string {
	const started = "the run was started from its spans before its root span arrived"
	switch {
	case !t.validAgent(agent):
		return fmt.Sprintf("%s; the root span %q names no valid agent id", started, root.Name)
	case !selected:
		return fmt.Sprintf("%s; the run selector does not select the root span %q", started, root.Name)
	}
	return fmt.Sprintf("%s; the root span %q names agent %s, where it starts a run of its own", started, root.Name, agent)
}

// setNode records a run root even past MaxSpansPerTrace: descendants
// resolve through it.
func (tr *trace) setNode(id, parent spans.SpanID, r *run, depth int) {
	tr.nodes.set(id, node{parent: parent, run: r, depth: depth})
}

// rehome assigns held spans whose run is now known.
func (t *Tracker) rehome(now time.Time, tr *trace) {
	kept := tr.held[:0]
	for i, s := range tr.held {
		if r, depth := tr.runOf(s); r != nil {
			t.unhold(tr, tr.held[i:i+1])
			t.assign(now, tr, r, s, depth)
			continue
		}
		kept = append(kept, s)
	}
	clear(tr.held[len(kept):])
	tr.held = kept
	if tr.park != nil {
		// What a parked trace decides by is what it still holds.
		last := tr.park.last
		tr.park = t.parkingOf(tr.held, last)
	}
}

// parkingOf sums up held spans for a parked trace, nil if there are none.
func (t *Tracker) parkingOf(held []*spans.Span, last time.Time) *parking {
	if len(held) == 0 {
		return nil
	}
	p := &parking{}
	for _, s := range held {
		p.add(t, last, s)
	}
	return p
}

func (t *Tracker) assign(now time.Time, tr *trace, r *run, s *spans.Span, depth int) {
	if tr.nodes.has(s.SpanID) {
		tr.nodes.set(s.SpanID, node{parent: s.ParentSpanID, run: r, depth: depth})
	}
	if !r.selected {
		t.stats.SpansUnselected++
		return
	}
	if r.closed {
		t.lateToRun(tr.id, r, lateEvents(s))
		return
	}
	r.lastSeen = now
	r.sum.Add(s)
	t.charge(r, s)
	if s.StartTime.Before(r.first.start) {
		r.first = t.earliestOf(s)
	}
	isRoot := r.root != nil && r.root.SpanID == s.SpanID
	t.addEvents(r, s, depth, isRoot)
	if t.tasks && !isRoot {
		status := agentosapi.TaskCompleted
		if s.StatusCode == spans.StatusError {
			status = agentosapi.TaskFailed
		}
		if task, ok := t.m.Task(s, status); ok {
			r.tasks = append(r.tasks, task)
		}
	}
	if r.started && r.pending.Len()+len(r.deferred) >= flushThreshold {
		t.flush(r)
	}
}

func (t *Tracker) startRun(tr *trace, r *run, reason string) {
	t.emitStart(r, reason)
	t.markStarted(tr)
}

// markStarted notes that a run of tr started and stays open.
func (t *Tracker) markStarted(tr *trace) {
	if tr.started == 0 {
		t.cold.remove(tr)
	}
	tr.started++
}

// emitStart sends a run's run/start.
func (t *Tracker) emitStart(r *run, reason string) {
	var req agentosapi.StartRunRequest
	if r.root != nil {
		req = t.m.StartRequest(r.root)
	} else {
		first := r.first.span()
		req = t.m.OrphanStartRequest(&first, reason)
	}
	req.AgentID = r.agentID
	r.started = true
	r.setExternal(req.ExternalRunID)
	t.stats.RunsStarted++
	t.emit(Op{Run: r.key, Kind: OpStart, AgentID: r.agentID, TraceID: r.first.traceID, RunIndex: r.index, Start: req})
}

// flush sends a started run's pending events in timeline order, then its
// pending tasks.
func (t *Tracker) flush(r *run) {
	t.mapDeferred(r)
	if r.pending.Len() > 0 {
		events := r.pending.Take()
		t.stats.EventsEmitted += int64(len(events))
		t.emit(Op{Run: r.key, Kind: OpEvents, AgentID: r.agentID, Events: events})
	}
	for _, task := range r.tasks {
		t.emit(Op{Run: r.key, Kind: OpTask, AgentID: r.agentID, Task: task})
	}
	r.tasks = nil
	t.bytes -= r.pendingBytes
	r.pendingBytes = 0
}

// closeRun starts the run if needed, sends what is pending and closes it:
// from its root when it has one, else as failed for reason.
func (t *Tracker) closeRun(tr *trace, r *run, reason string) {
	if r.closed {
		return
	}
	r.closed = true
	if !r.selected {
		return
	}
	if r.started {
		if tr.started--; tr.started == 0 {
			t.cold.push(tr)
		}
	} else {
		t.emitStart(r, reason)
	}
	t.endOpenSpans(r)
	t.flush(r)
	var c mapping.Close
	switch {
	case r.root != nil && r.live:
		c = t.m.LiveCloseRequest(r.root, &r.sum)
	case r.root != nil:
		c = t.m.CloseRequest(r.root, &r.sum)
	default:
		c = t.m.FailRequest(r.first.traceID, reason, &r.sum)
	}
	if c.Fail {
		t.stats.RunsFailed++
	} else {
		t.stats.RunsCompleted++
	}
	t.emit(Op{Run: r.key, Kind: OpClose, AgentID: r.agentID, Close: c})
	r.pending = mapping.Timeline{}
	r.deferred = nil
}

// Tick advances time: waits expire, grace periods end, orphans time out,
// parked traces silent for OrphanTimeout are let go.
func (t *Tracker) Tick(now time.Time) []Op {
	for tr := t.all.oldest; tr != nil; {
		next := tr.arrival.next
		if !tr.waitExpired && len(tr.held) > 0 && now.Sub(tr.created) >= t.opts.MaxWait {
			t.expireWait(now, tr, fmt.Sprintf("the run root had not arrived within the maximum wait (%s)", t.opts.MaxWait))
		}
		if tr.park != nil && now.Sub(tr.park.last) >= t.opts.OrphanTimeout {
			t.dropParked(tr)
		}
		for _, r := range tr.runs {
			switch {
			case r.closed:
			case r.root != nil && !now.Before(r.closeAt):
				t.closeRun(tr, r, "")
			case r.live && r.root == nil && now.Sub(r.opened) >= t.opts.MaxRunDuration:
				t.closeRun(tr, r, fmt.Sprintf("the run root span had not ended after the maximum run duration (%s)", t.opts.MaxRunDuration))
			case r.started && r.root == nil && !r.live && now.Sub(r.lastSeen) >= t.opts.OrphanTimeout:
				t.closeRun(tr, r, fmt.Sprintf("the run root span never arrived: no span of trace %s for %s", tr.id, t.opts.OrphanTimeout))
			case r.started:
				t.flush(r)
			}
		}
		t.retireIfDone(tr)
		tr = next
	}
	return t.take()
}

// Flush closes every run whose root has arrived, without waiting for the
// grace period, and sends pending events of started runs. Spans still
// waiting for their root stay held.
func (t *Tracker) Flush() []Op {
	for tr := t.all.oldest; tr != nil; {
		next := tr.arrival.next
		for _, r := range tr.runs {
			switch {
			case r.closed:
			case r.root != nil:
				t.closeRun(tr, r, "")
			case r.started:
				t.flush(r)
			}
		}
		t.retireIfDone(tr)
		tr = next
	}
	return t.take()
}

// Shutdown closes every run: held spans start runs of their own, runs with
// a root close from it, the rest fail saying why.
func (t *Tracker) Shutdown(now time.Time) []Op {
	for tr := t.all.oldest; tr != nil; {
		next := tr.arrival.next
		t.closeTrace(now, tr, "the AgentOS bridge shut down before the run root span ended")
		tr = next
	}
	return t.take()
}

// closeTrace closes every run of tr and retires it. Held spans that no run
// can take go as unselected.
func (t *Tracker) closeTrace(now time.Time, tr *trace, reason string) {
	if len(tr.held) > 0 {
		t.expireWait(now, tr, reason)
	}
	if tr.park != nil {
		t.dropParked(tr)
	}
	for _, r := range tr.runs {
		t.closeRun(tr, r, reason)
	}
	t.retireIfDone(tr)
}

func (t *Tracker) retireIfDone(tr *trace) {
	if len(tr.held) > 0 {
		return
	}
	var ct closedTrace
	for _, r := range tr.runs {
		if !r.closed {
			return
		}
		if ct.ext == "" && r.started {
			ct.ext = cmp.Or(r.external, extTraceID)
		}
		if r.root != nil {
			if !ct.root.IsValid() {
				ct.root = r.root.SpanID
			} else {
				ct.more = append(ct.more, r.root.SpanID)
			}
		}
	}
	delete(t.traces, tr.id)
	if t.recent == tr {
		t.recent = nil
	}
	if spare, ok := tr.nodes.recycle(maxSpareNodeIDs); ok && len(t.spareNodes) < maxSpareNodes {
		t.spareNodes = append(t.spareNodes, spare)
	}
	t.all.remove(tr)
	t.cold.remove(tr) // no run of it is open
	t.closed.add(tr.id, ct)
	if t.opts.ReportRetired {
		t.retired = append(t.retired, tr.id)
	}
}
