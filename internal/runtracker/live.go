package runtracker

import (
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// Started records a span that has just started, for the live span
// processor: a run root starts its run at once, so AgentOS shows it running
// while the agent works, and other spans queue their start event. Parents
// start before their children, so a child's run is always known here.
func (t *Tracker) Started(now time.Time, s *spans.Span) []Op {
	t.started(now, s)
	return t.take()
}

// Ended records a span that has ended, for the live span processor: its
// span events and end event queue, and a run root's end closes its run after
// the grace period.
func (t *Tracker) Ended(now time.Time, s *spans.Span) []Op {
	t.ended(now, s)
	return t.take()
}

// Live records spans that started or ended, in the order given, as Started
// and Ended do one at a time, and returns the ops of them all in one slice:
// span(i) is the i-th of n and whether it ended.
//
// The payloads each run gets in the call are written into borrowed memory
// and then copied into one allocation of their size (see stage), and the
// call's op slice is sized by the ops earlier calls to Live returned, not
// by a Tick's or a Flush's.
func (t *Tracker) Live(now time.Time, n int, span func(i int) (s *spans.Span, ended bool)) []Op {
	t.staging = true
	t.opsHint, t.liveOpsHint = t.liveOpsHint, t.opsHint
	for i := range n {
		if s, ended := span(i); ended {
			t.ended(now, s)
		} else {
			t.started(now, s)
		}
	}
	t.settle()
	ops := t.take()
	t.opsHint, t.liveOpsHint = t.liveOpsHint, t.opsHint
	return ops
}

// maxStagedRuns bounds the runs whose timelines one Live call stages, each
// holding a pooled staging buffer until the call ends; the others' events
// go into their timelines' chunks.
const maxStagedRuns = 8

// stage has r's timeline take this Live call's payloads in borrowed
// memory, which settle then copies into one allocation of their size:
// a run's live events otherwise fill chunks that double as it grows, about
// half again what they hold.
func (t *Tracker) stage(r *run) {
	if !t.staging || r.staged || len(t.staged) == maxStagedRuns {
		return
	}
	r.staged = true
	r.pending.Stage()
	t.staged = append(t.staged, r)
}

// settle ends what stage began.
func (t *Tracker) settle() {
	for _, r := range t.staged {
		r.staged = false
		r.pending.Settle()
	}
	clear(t.staged)
	t.staged = t.staged[:0]
	t.staging = false
}

// started is Started leaving its ops in t.ops.
func (t *Tracker) started(now time.Time, s *spans.Span) {
	tr := t.trace(s.TraceID)
	if t.isRunRoot(s) {
		if tr == nil {
			tr = t.newTrace(now, s.TraceID)
		}
		if tr.nodes.has(s.SpanID) {
			t.stats.SpansDuplicate++
			return
		}
		t.stats.SpansAccepted++
		r := t.newRun(now, tr, s)
		r.live = true
		r.agentID = t.m.AgentID(s)
		r.selected = t.m.Selects(s) && t.validAgent(r.agentID)
		if !t.validAgent(r.agentID) {
			t.stats.SpansNoAgent++
		}
		tr.setNode(s.SpanID, s.ParentSpanID, r, 0)
		if r.selected {
			req := t.m.StartRequest(s)
			req.AgentID = r.agentID
			r.started = true
			r.setExternal(req.ExternalRunID)
			t.markStarted(tr)
			t.stats.RunsStarted++
			t.emit(Op{Run: r.key, Kind: OpStart, AgentID: r.agentID, TraceID: s.TraceID, Start: req})
		}
		return
	}
	r, depth := t.liveRunOf(tr, s, 1)
	if r == nil {
		return
	}
	if r.closed {
		if r.selected {
			t.lateToRun(tr.id, r, 1)
		}
		return
	}
	t.stats.SpansAccepted++
	// Past the bound the span is not remembered, so its start event waits
	// for its end, where both are sent: never an end without its start.
	remembered := tr.nodes.len() < t.opts.MaxSpansPerTrace
	if remembered {
		tr.nodes.set(s.SpanID, node{parent: s.ParentSpanID, run: r, depth: depth})
	}
	if !r.selected {
		return
	}
	r.lastSeen = now
	t.charge(r, s)
	t.stage(r)
	if remembered {
		// The type chosen now decides the end event too.
		typ := mapping.Classify(s)
		if t.m.AddStart(&r.pending, s, depth, typ) {
			r.open.set(s.SpanID, openSpan{typ: typ, depth: int32(depth), parent: s.ParentSpanID, name: s.Name, start: s.StartTime})
		}
	}
	if t.tasks {
		if task, ok := t.m.Task(s, agentosapi.TaskRunning); ok {
			r.tasks = append(r.tasks, task)
		}
	}
	if r.pending.Len() >= flushThreshold {
		t.flush(r)
	}
}

// ended is Ended leaving its ops in t.ops.
func (t *Tracker) ended(now time.Time, s *spans.Span) {
	tr := t.trace(s.TraceID)
	r, depth := t.liveRunOf(tr, s, 1+len(s.Events))
	if r == nil {
		return
	}
	isRoot := depth == 0 && t.isRunRoot(s) && tr.recordedIn(s.SpanID, r)
	if !r.selected {
		if isRoot {
			r.closed = true
			t.retireIfDone(tr)
		}
		return
	}
	if r.closed {
		t.lateToRun(tr.id, r, 1+len(s.Events))
		return
	}
	r.lastSeen = now
	r.sum.Add(s)
	t.charge(r, s)
	t.stage(r)
	// A span whose start event was sent keeps the type it had then.
	o, started := r.open.get(s.SpanID)
	typ := o.typ
	if !started {
		typ = mapping.Classify(s)
	}
	if len(s.Events) > 0 { // most spans have none: no scratch to take
		t.m.AddSpanEvents(&r.pending, s, depth, typ, isRoot)
	}
	if !isRoot {
		t.endEvents(r, s, depth, typ, started)
		if t.tasks {
			status := agentosapi.TaskCompleted
			if s.StatusCode == spans.StatusError {
				status = agentosapi.TaskFailed
			}
			if task, ok := t.m.Task(s, status); ok {
				r.tasks = append(r.tasks, task)
			}
		}
	} else {
		root := *s
		r.root = &root
		r.closeAt = now.Add(t.opts.Grace)
	}
	if r.pending.Len() >= flushThreshold {
		t.flush(r)
	}
}

// recordedIn reports whether span id is recorded as one of r's own.
func (tr *trace) recordedIn(id spans.SpanID, r *run) bool {
	n, _ := tr.nodes.get(id)
	return n.run == r
}

// liveRunOf finds the run of a live span, counting it when it has none;
// events is what the span would add, for the late report.
func (t *Tracker) liveRunOf(tr *trace, s *spans.Span, events int) (*run, int) {
	if tr == nil {
		if ct, ok := t.closed.get(s.TraceID); ok {
			t.lateToClosed(s.TraceID, ct.ext, events)
		} else {
			t.stats.SpansNoRun++
		}
		return nil, 0
	}
	r, depth := tr.runOf(s)
	if r == nil {
		t.stats.SpansNoRun++
	}
	return r, depth
}

// openSpan is what a live span's end event needs of its start, kept
// small: an open run holds one per span that has not ended.
type openSpan struct {
	typ    mapping.SpanType
	depth  int32
	parent spans.SpanID
	name   string
	// start keeps its monotonic reading, if any: the duration of an end
	// made up at close is measured as the span's own would be.
	start time.Time
}

// endEvents queues the end event of a live span of type typ, its start's
// when started (its start event was sent). A span whose start event was
// not sent (its start was dropped, or the trace was past its bound) gets
// both now, so events always pair.
func (t *Tracker) endEvents(r *run, s *spans.Span, depth int, typ mapping.SpanType, started bool) {
	if started {
		r.open.delete(s.SpanID)
		t.m.AddLiveEnd(&r.pending, s, depth, typ)
		return
	}
	t.m.AddStart(&r.pending, s, depth, typ)
	t.m.AddEnd(&r.pending, s, depth, typ)
}

// spanNotEnded is the error of a span still open when its run closes.
const spanNotEnded = "the span's end was not seen before its run closed"

// endOpenSpans pairs the start event of every span still open as its run
// closes with a failed end event, so the timeline has no dangling start.
func (t *Tracker) endOpenSpans(r *run) {
	if r.open.len() == 0 {
		return
	}
	at := r.lastSeen
	if r.root != nil && r.root.Ended() {
		at = r.root.EndTime
	}
	for id, o := range r.open.all() {
		s := spans.Span{
			TraceID: r.first.traceID, SpanID: id, ParentSpanID: o.parent, Name: o.name,
			StartTime: o.start, EndTime: at,
			StatusCode: spans.StatusError, StatusMessage: spanNotEnded,
		}
		if s.EndTime.Before(s.StartTime) {
			s.EndTime = s.StartTime
		}
		t.m.AddEnd(&r.pending, &s, int(o.depth), o.typ)
	}
	r.open = idMap[openSpan]{}
}
