package runtracker

import (
	"slices"

	"cmp"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// Late is what arrived for one run after it had closed, since the previous
// TakeLate: such spans are counted, never sent.
type Late struct {
	TraceID spans.TraceID
	// ExternalRunID is the external_run_id the run's run/start sent
	// (agentos.external_run_id, else the trace id in hex), by which it is
	// found in AgentOS. For a trace already retired it is that of its
	// first started run.
	ExternalRunID string
	// Spans is how many spans arrived late, and Events how many events
	// they would have made, before the minimum level filters any: a start
	// and an end per span (the live processor's late start or end alone
	// counts one) and one per span event.
	Spans, Events int
}

// maxLateRuns bounds the runs listed between two calls of TakeLate.
const maxLateRuns = 1024

// TakeLate returns, per run, the spans that arrived after their run had
// closed since the previous call (nil if none), in the order their runs
// first had one, and how many late spans belonged to runs beyond the
// first 1024 listed: those are counted here and in Stats.SpansLate, not
// listed. It is meant for a warning log line per run, taken after Add,
// Tick or Ended like their ops and under the same serialisation. Spans of
// a trace that never had a started run are not late but unselected, and
// are not listed. The report is not kept across a restart.
func (t *Tracker) TakeLate() (runs []Late, unlisted int64) {
	runs, unlisted = t.late.runs, t.late.unlisted
	t.late = lateReport{}
	for i := range runs {
		if runs[i].ExternalRunID == extTraceID {
			runs[i].ExternalRunID = runs[i].TraceID.String()
		}
	}
	return runs, unlisted
}

// lateReport aggregates late spans per run until TakeLate.
type lateReport struct {
	runs     []Late
	index    map[lateKey]int // into runs
	unlisted int64
}

type lateKey struct {
	trace spans.TraceID
	ext   string
}

func (l *lateReport) add(id spans.TraceID, ext string, events int) {
	k := lateKey{id, ext}
	if i, ok := l.index[k]; ok {
		l.runs[i].Spans++
		l.runs[i].Events += events
		return
	}
	if len(l.runs) >= maxLateRuns {
		l.unlisted++
		return
	}
	if l.index == nil {
		l.index = make(map[lateKey]int)
	}
	l.index[k] = len(l.runs)
	l.runs = append(l.runs, Late{TraceID: id, ExternalRunID: ext, Spans: 1, Events: events})
}

// lateEvents estimates the events an ended span makes: its start and end
// and its span events.
func lateEvents(s *spans.Span) int { return 2 + len(s.Events) }

// lateToRun counts a span that arrived after r closed.
func (t *Tracker) lateToRun(id spans.TraceID, r *run, events int) {
	t.stats.SpansLate++
	t.late.add(id, cmp.Or(r.external, extTraceID), events)
}

// extTraceID stands for an external_run_id that is the trace id in hex,
// which the report spells out only when it is taken.
const extTraceID = "\x00trace id"

func (r *run) setExternal(ext string) {
	if !isTraceHex(ext, r.first.traceID) {
		r.external = ext
	}
}

// isTraceHex reports whether s is id in lowercase hex, without allocating.
func isTraceHex(s string, id spans.TraceID) bool {
	const digits = "0123456789abcdef"
	if len(s) != 2*len(id) {
		return false
	}
	for i, b := range id {
		if s[2*i] != digits[b>>4] || s[2*i+1] != digits[b&0xf] {
			return false
		}
	}
	return true
}

// lateToClosed counts a span of a retired trace: late if the trace had a
// started run (ext is its external_run_id), else unselected, as its run
// root was not selected or never came.
func (t *Tracker) lateToClosed(id spans.TraceID, ext string, events int) {
	if ext == "" {
		t.stats.SpansUnselected++
		return
	}
	t.stats.SpansLate++
	t.late.add(id, ext, events)
}

// closedSet remembers recently retired traces with the external_run_id of
// their first started run ("" for none, extTraceID for the trace id), so
// their late spans are recognised and reported instead of opening a new
// run, and with the span ids of their run roots, so a root sent again (a
// client retrying a batch whose answer a crash lost) is known for a
// duplicate instead of opening a second run. It holds a fixed number of
// traces, the most recent.
type closedSet struct {
	ids  map[spans.TraceID]closedTrace
	ring []spans.TraceID
	next int
}

type closedTrace struct {
	ext string
	// root is the first run root's span id; more holds any others (a
	// trace with several remote-parent roots).
	root spans.SpanID
	more []spans.SpanID
}

// hadRoot says whether id was a run root of the closed trace.
func (c *closedTrace) hadRoot(id spans.SpanID) bool {
	return (c.root == id && id.IsValid()) || slices.Contains(c.more, id)
}

func newClosedSet(size int) closedSet {
	return closedSet{ids: make(map[spans.TraceID]closedTrace), ring: make([]spans.TraceID, 0, size)}
}

func (c *closedSet) get(id spans.TraceID) (closedTrace, bool) {
	ct, ok := c.ids[id]
	return ct, ok
}

func (c *closedSet) add(id spans.TraceID, ct closedTrace) {
	if old, ok := c.ids[id]; ok {
		// Retired again (a new root of it came): keep one ring slot, and
		// every root.
		if ct.ext == "" {
			ct.ext = old.ext
		}
		if old.root.IsValid() {
			ct.more = append(ct.more, old.root)
		}
		ct.more = append(ct.more, old.more...)
		c.ids[id] = ct
		return
	}
	if len(c.ring) < cap(c.ring) {
		c.ring = append(c.ring, id)
	} else {
		delete(c.ids, c.ring[c.next])
		c.ring[c.next] = id
		c.next = (c.next + 1) % len(c.ring)
	}
	c.ids[id] = ct
}
