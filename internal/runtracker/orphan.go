package runtracker

import (
	"fmt"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// Runs without their root: spans whose root has not arrived within the
// maximum wait start a run of their own when the selector picks them, and
// otherwise wait, parked, for their root or the orphan timeout.

// placeUnresolved handles a span whose ancestors are unknown after the
// trace's wait expired. It evicts nothing: its callers do, once the trace
// is consistent.
func (t *Tracker) placeUnresolved(now time.Time, tr *trace, s *spans.Span) {
	if s.ParentRemote {
		// Its remote parent did not arrive within the wait: it is a root.
		t.addRoot(now, tr, s)
		return
	}
	if tr.park != nil {
		t.hold(tr, s)
		tr.park.add(t, now, s)
		if tr.park.selects && t.orphanAgentOK(tr.park.earliest) {
			t.startFromHeld(now, tr, tr.park.earliest, fmt.Sprintf("the run root had not arrived within the maximum wait (%s)", t.opts.MaxWait))
			return
		}
		if len(tr.held) >= t.opts.MaxSpansPerTrace {
			t.dropParked(tr)
			t.retireIfDone(tr)
		}
		return
	}
	var open *run
	for _, r := range tr.runs {
		if !r.closed {
			if open != nil {
				open = nil // several candidates: do not guess
				break
			}
			open = r
		}
	}
	if open == nil {
		if !t.orphanAgentOK(s) || !t.orphanSelects(s) {
			t.hold(tr, s)
			tr.park = &parking{}
			tr.park.add(t, now, s)
			return
		}
		open = t.startOrphan(now, tr, s, "the run root had not arrived within the maximum wait")
	}
	t.assign(now, tr, open, s, 1)
}

// parking is what a parked trace keeps to decide whether its held spans
// can start a run without their root, and when to let them go.
type parking struct {
	last     time.Time   // its last span arrived, for OrphanTimeout
	earliest *spans.Span // of its held spans: the agent of a run started without the root
	selects  bool        // some held span matches the run selector
}

func (p *parking) add(t *Tracker, now time.Time, s *spans.Span) {
	p.last = now
	if p.earliest == nil || s.StartTime.Before(p.earliest.StartTime) {
		p.earliest = s
	}
	p.selects = p.selects || t.orphanSelects(s)
}

// startOrphan starts a run for spans whose root has not arrived. The
// caller has checked that they are selected and name a valid agent.
func (t *Tracker) startOrphan(now time.Time, tr *trace, first *spans.Span, reason string) *run {
	r := t.newRun(now, tr, first)
	r.agentID = t.m.AgentID(first)
	r.selected = true
	t.stats.RunsOrphaned++
	t.startRun(tr, r, reason)
	return r
}

// orphanSelects applies the selector to a span of a trace without its
// root: with any selector but "all", the span must itself match.
func (t *Tracker) orphanSelects(s *spans.Span) bool {
	return t.m.Options().Selector.Mode == mapping.SelectAll || t.m.Selects(s)
}

// orphanAgentOK reports whether a run started from first, the earliest
// span known of it, has a valid agent.
func (t *Tracker) orphanAgentOK(first *spans.Span) bool {
	return t.validAgent(t.m.AgentID(first))
}

// expireWait stops waiting for roots: held spans with a remote parent become
// roots, the rest start a run without their root if some span of theirs is
// selected, else they stay held (parked) for their root.
func (t *Tracker) expireWait(now time.Time, tr *trace, reason string) {
	tr.waitExpired = true
	if len(tr.held) == 0 {
		return
	}
	if !t.opts.RemoteParentIsRoot {
		// Spans whose remote parent never arrived become run roots.
		var tops []*spans.Span
		kept := tr.held[:0]
		for _, s := range tr.held {
			if s.ParentRemote && !tr.nodes.has(s.ParentSpanID) {
				tops = append(tops, s)
				continue
			}
			kept = append(kept, s)
		}
		clear(tr.held[len(kept):])
		tr.held = kept
		t.unhold(tr, tops)
		for _, s := range tops {
			t.addRoot(now, tr, s)
		}
	}
	if len(tr.held) == 0 || tr.park != nil {
		return
	}
	p := t.parkingOf(tr.held, now)
	if p.selects && t.orphanAgentOK(p.earliest) {
		t.startFromHeld(now, tr, p.earliest, reason)
		return
	}
	tr.park = p
}

// startFromHeld starts a run without its root from the held spans, first
// being the earliest.
func (t *Tracker) startFromHeld(now time.Time, tr *trace, first *spans.Span, reason string) {
	tr.park = nil
	held := tr.held
	r := t.startOrphan(now, tr, first, reason)
	tr.held = nil
	t.unhold(tr, held)
	for _, s := range held {
		depth := 1
		if _, d := tr.runOf(s); d > 0 {
			depth = d
		}
		t.assign(now, tr, r, s, depth)
	}
	t.flush(r)
}

// unpark gives r, the run of the trace's parentless root, the spans its
// parked trace still holds after the root resolved its descendants: their
// parent never came, and the trace's root is their nearest known root. A
// remote root (a subtree) leaves them parked.
func (t *Tracker) unpark(now time.Time, tr *trace, r *run) {
	tr.park = nil
	held := tr.held
	tr.held = nil
	t.unhold(tr, held)
	rest := held[:0]
	for _, s := range held {
		if s.ParentRemote && !t.opts.RemoteParentIsRoot && !tr.nodes.has(s.ParentSpanID) {
			t.addRoot(now, tr, s)
			continue
		}
		rest = append(rest, s)
	}
	for _, s := range rest {
		if rr, depth := tr.runOf(s); rr != nil {
			t.assign(now, tr, rr, s, depth)
			continue
		}
		t.assign(now, tr, r, s, 1)
	}
}

// dropParked lets a parked trace's held spans go, counted as unselected:
// no span of theirs selected a run.
func (t *Tracker) dropParked(tr *trace) {
	p := tr.park
	tr.park = nil
	if p.selects && !t.orphanAgentOK(p.earliest) {
		t.stats.SpansNoAgent++
	}
	t.stats.SpansUnselected += int64(len(tr.held))
	held := tr.held
	tr.held = nil
	t.unhold(tr, held)
}
