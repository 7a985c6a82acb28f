package runtracker

import (
	"slices"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// deferredSpan is a span whose events are mapped when its run's events are
// sent, not when it arrives.
type deferredSpan struct {
	s      *spans.Span
	depth  int
	isRoot bool
}

// JoinLogs makes the tracker keep the spans of runs whose events are not
// sent yet, rather than their mapped events, so that a log record which
// comes after its span still becomes that span's content (AttachLogs). A
// front end that joins log records turns it on; it costs a copy per span.
func (t *Tracker) JoinLogs() { t.joinLogs = true }

func (t *Tracker) addEvents(r *run, s *spans.Span, depth int, isRoot bool) {
	if !t.joinLogs || r.live {
		t.m.AddEvents(&r.pending, s, depth, isRoot)
		return
	}
	if isRoot {
		s = r.root // its copy, which the run's start and close read too
	} else {
		s = t.keep(s)
	}
	r.deferred = append(r.deferred, deferredSpan{s: s, depth: depth, isRoot: isRoot})
}

// mapDeferred maps r's deferred spans into its pending events, in the
// order they arrived, as addEvents would have then.
func (t *Tracker) mapDeferred(r *run) {
	for i := range r.deferred {
		d := &r.deferred[i]
		t.m.AddEvents(&r.pending, d.s, d.depth, d.isRoot)
	}
	clear(r.deferred)
	r.deferred = r.deferred[:0]
}

// AttachLogs gives log records to their span, which has passed already,
// while the span is held for its root or its run's events are not sent
// yet (with JoinLogs). It reports whether the span took them; if not, its
// events have gone (or it was never seen) and the caller counts them.
func (t *Tracker) AttachLogs(traceID spans.TraceID, spanID spans.SpanID, logs []spans.Event) bool {
	tr := t.trace(traceID)
	if tr == nil || len(logs) == 0 {
		return false
	}
	for _, s := range tr.held {
		if s.SpanID == spanID {
			before := s.Size()
			s.AppendLogs(logs...)
			grown := s.Size() - before
			tr.heldEvents += len(logs)
			tr.heldBytes += grown
			t.bytes += int64(grown)
			return true
		}
	}
	n, ok := tr.nodes.get(spanID)
	if !ok || n.run == nil {
		return false
	}
	r := n.run
	if r.closed || !r.selected {
		return false
	}
	i := slices.IndexFunc(r.deferred, func(d deferredSpan) bool { return d.s.SpanID == spanID })
	if i < 0 {
		return false
	}
	s := r.deferred[i].s
	before := s.Size()
	s.AppendLogs(logs...)
	grown := int64(s.Size() - before)
	r.pendingBytes += grown
	t.bytes += grown
	return true
}
