package logjoin

import (
	"sync"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// Why a record was not joined to its span.
const (
	ReasonAfterSpan  = "after_span" // its span had passed, and its run's events with it
	ReasonOrphan     = "orphan"     // its span did not come within the wait
	ReasonBufferFull = "buffer_full"
	ReasonNoSpanID   = "no_span_id" // not correlated to a span
)

// Bounds: records held, spans remembered as passed (to tell a record that
// comes after its span from one whose span is still to come), traces
// remembered as already reported.
const (
	DefaultMaxHeld    = 1 << 16
	maxPassedSpans    = 1 << 16
	maxReportedTraces = 1 << 12
)

// Record is a GenAI log record (see mapping.LogEvent) and its span.
type Record struct {
	TraceID spans.TraceID
	SpanID  spans.SpanID
	Event   spans.Event
}

// Drop reports records not joined; First is set for the first report of
// its trace, the one a front end logs.
type Drop struct {
	TraceID spans.TraceID
	Reason  string
	Records int
	First   bool
}

type key struct {
	trace spans.TraceID
	span  spans.SpanID
}

type held struct {
	since  time.Time
	events []spans.Event
}

// Buffer is safe for concurrent use.
type Buffer struct {
	maxWait time.Duration
	maxHeld int
	report  func(Drop)
	late    func([]Record) []Record

	mu         sync.Mutex
	held       map[key]*held
	nHeld      int
	byTrace    map[spans.TraceID]int // records held per trace
	passed     map[key]struct{}
	passedFIFO []key
	reported   map[spans.TraceID]struct{}
	dropped    map[string]int64
}

// New returns a buffer that holds a record up to maxWait for its span and
// calls report (under the buffer's lock: it must not call back) for what
// it drops. Records whose span has passed go to late, if not nil, which
// returns those it could not give to their span either (the run tracker,
// while the span's events are not sent: runtracker.Tracker.AttachLogs).
func New(maxWait time.Duration, report func(Drop), late func([]Record) []Record) *Buffer {
	return &Buffer{maxWait: maxWait, maxHeld: DefaultMaxHeld, report: report, late: late,
		held: map[key]*held{}, byTrace: map[spans.TraceID]int{}, passed: map[key]struct{}{}, reported: map[spans.TraceID]struct{}{}, dropped: map[string]int64{}}
}

// Add holds records for their spans, gives those whose span has passed to
// late, and drops what waited too long.
func (b *Buffer) Add(now time.Time, recs []Record) {
	if late := b.hold(now, recs); len(late) > 0 {
		if b.late != nil {
			late = b.late(late) // outside the lock: it takes the tracker's
		}
		b.mu.Lock()
		for i := range late {
			b.drop(late[i].TraceID, ReasonAfterSpan, 1)
		}
		b.mu.Unlock()
	}
}

func (b *Buffer) hold(now time.Time, recs []Record) (late []Record) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range recs {
		r := &recs[i]
		k := key{r.TraceID, r.SpanID}
		switch {
		case !k.trace.IsValid() || !k.span.IsValid():
			b.drop(k.trace, ReasonNoSpanID, 1)
			continue
		case b.isPassed(k):
			late = append(late, *r)
			continue
		case b.nHeld >= b.maxHeld:
			b.drop(k.trace, ReasonBufferFull, 1)
			continue
		}
		h := b.held[k]
		if h == nil {
			h = &held{since: now}
			b.held[k] = h
		}
		h.events = append(h.events, r.Event)
		b.nHeld++
		b.byTrace[k.trace]++
	}
	b.expire(now)
	return late
}

// Attach gives each span of batch the records held for it, in time order,
// and remembers the spans as passed.
func (b *Buffer) Attach(now time.Time, batch []spans.Span) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range batch {
		s := &batch[i]
		b.attach(s)
	}
	b.expire(now)
}

// AttachOne is Attach for a single span.
func (b *Buffer) AttachOne(now time.Time, s *spans.Span) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.attach(s)
	b.expire(now)
}

func (b *Buffer) attach(s *spans.Span) {
	k := key{s.TraceID, s.SpanID}
	if h, ok := b.held[k]; ok {
		s.AppendLogs(h.events...)
		b.release(k, h)
	}
	b.markPassed(k)
}

// Close drops whatever is still held.
func (b *Buffer) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, h := range b.held {
		b.drop(k.trace, ReasonOrphan, len(h.events))
		delete(b.held, k)
	}
	b.nHeld = 0
	clear(b.byTrace)
}

// Expire drops the records that waited too long for their span.
func (b *Buffer) Expire(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expire(now)
}

// Holds reports whether records of trace wait for their span.
func (b *Buffer) Holds(trace spans.TraceID) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.byTrace[trace] > 0
}

// release forgets records no longer held.
func (b *Buffer) release(k key, h *held) {
	b.nHeld -= len(h.events)
	if n := b.byTrace[k.trace] - len(h.events); n > 0 {
		b.byTrace[k.trace] = n
	} else {
		delete(b.byTrace, k.trace)
	}
	delete(b.held, k)
}

// Dropped reports the records dropped so far, by reason.
func (b *Buffer) Dropped() map[string]int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]int64, len(b.dropped))
	for k, v := range b.dropped {
		out[k] = v
	}
	return out
}

func (b *Buffer) isPassed(k key) bool {
	_, ok := b.passed[k]
	return ok
}

func (b *Buffer) markPassed(k key) {
	if _, ok := b.passed[k]; ok {
		return
	}
	if len(b.passedFIFO) >= maxPassedSpans {
		delete(b.passed, b.passedFIFO[0])
		b.passedFIFO = b.passedFIFO[1:]
	}
	b.passed[k] = struct{}{}
	b.passedFIFO = append(b.passedFIFO, k)
}

func (b *Buffer) expire(now time.Time) {
	if b.nHeld == 0 {
		return
	}
	for k, h := range b.held {
		if now.Sub(h.since) >= b.maxWait {
			b.drop(k.trace, ReasonOrphan, len(h.events))
			b.release(k, h)
		}
	}
}

func (b *Buffer) drop(trace spans.TraceID, reason string, n int) {
	b.dropped[reason] += int64(n)
	_, seen := b.reported[trace]
	first := !seen
	if first {
		if len(b.reported) >= maxReportedTraces {
			clear(b.reported) // bounded: a trace may then be reported twice
		}
		b.reported[trace] = struct{}{}
	}
	if b.report != nil {
		b.report(Drop{TraceID: trace, Reason: reason, Records: n, First: first})
	}
}

// Place offers records to place a span at a time (the records of one span
// come together) and returns those it refused.
func Place(recs []Record, place func(spans.TraceID, spans.SpanID, []spans.Event) bool) (refused []Record) {
	for i := 0; i < len(recs); {
		j := i + 1
		for j < len(recs) && recs[j].TraceID == recs[i].TraceID && recs[j].SpanID == recs[i].SpanID {
			j++
		}
		evs := make([]spans.Event, j-i)
		for k := range evs {
			evs[k] = recs[i+k].Event
		}
		if !place(recs[i].TraceID, recs[i].SpanID, evs) {
			refused = append(refused, recs[i:j]...)
		}
		i = j
	}
	return refused
}

// Carriers packs records of one trace or more as spans that carry them as
// events, one per span they are for, to be stored with spans (journal).
func Carriers(recs []Record) []spans.Span {
	var out []spans.Span
	for i := range recs {
		r := &recs[i]
		if n := len(out); n > 0 && out[n-1].TraceID == r.TraceID && out[n-1].SpanID == r.SpanID {
			out[n-1].Events = append(out[n-1].Events, r.Event)
			continue
		}
		out = append(out, spans.Span{TraceID: r.TraceID, SpanID: r.SpanID, Events: []spans.Event{r.Event}})
	}
	return out
}

// FromCarriers unpacks what Carriers packed.
func FromCarriers(carriers []spans.Span) []Record {
	var out []Record
	for i := range carriers {
		c := &carriers[i]
		for _, ev := range c.Events {
			out = append(out, Record{TraceID: c.TraceID, SpanID: c.SpanID, Event: ev})
		}
	}
	return out
}
