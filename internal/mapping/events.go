package mapping

import (
	"sync"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// Phase orders events of one span: start, then its span events, then end.
type Phase uint8

// Phases, in timeline order at equal timestamps.
const (
	PhaseStart Phase = iota
	PhaseSpanEvent
	PhaseEnd
)

// Event is a timeline event with the keys that order it.
type Event struct {
	At    time.Time
	Phase Phase
	// Depth is the span's distance from its run root: parents sort first.
	Depth  int
	SpanID spans.SpanID
	// Index is the span event's position within its span.
	Index int
	Wire  agentosapi.Event
}

// AppendEvents appends every event of an ended span, in the order they are
// made; see AddEvents. Their payloads share one allocation.
func (m *Mapper) AppendEvents(dst []Event, s *spans.Span, depth int, isRoot bool) []Event {
	sc := getScratch()
	defer putScratch(sc)
	tl := Timeline{entries: sc.entries[:0], free: sc.staging[:0]}
	m.addEvents(&tl, sc, s, depth, isRoot)
	tl.compact(sc.staging)
	held := tl.entries
	dst = tl.appendTo(dst)
	clear(held)
	sc.entries = held[:0]
	return dst
}

// StartEvent is the event for the start of a span of type typ; see AddStart.
func (m *Mapper) StartEvent(s *spans.Span, depth int, as SpanType) (Event, bool) {
	return oneEvent(func(tl *Timeline, sc *scratch) bool { return m.addStart(tl, sc, s, depth, as) })
}

// EndEvent is the event for the end of a span; see AddEnd.
func (m *Mapper) EndEvent(s *spans.Span, depth int, as SpanType) (Event, bool) {
	return oneEvent(func(tl *Timeline, sc *scratch) bool { return m.addEnd(tl, sc, s, depth, as, false) })
}

// oneEvent returns the single event add writes, if it writes one.
func oneEvent(add func(*Timeline, *scratch) bool) (Event, bool) {
	var tl Timeline
	sc := getScratch()
	defer putScratch(sc)
	tl.free = sc.staging[:0]
	if !add(&tl, sc) {
		return Event{}, false
	}
	tl.compact(sc.staging)
	return tl.appendTo(nil)[0], true
}

// AddEvents adds every event of an ended span to tl: its start and end
// events (not for the run root, which is the run itself) and its span events.
func (m *Mapper) AddEvents(tl *Timeline, s *spans.Span, depth int, isRoot bool) {
	sc := getScratch()
	defer putScratch(sc)
	m.addEvents(tl, sc, s, depth, isRoot)
}

func (m *Mapper) addEvents(tl *Timeline, sc *scratch, s *spans.Span, depth int, isRoot bool) {
	typ := Classify(s)
	if !isRoot {
		m.addStart(tl, sc, s, depth, typ)
	}
	m.addSpanEvents(tl, sc, s, depth, typ, isRoot)
	if !isRoot {
		m.addEnd(tl, sc, s, depth, typ, false)
	}
}

// AddStart adds the event for the start of a span of type typ, and reports
// whether the level filter kept it. The same typ must be given to AddEnd,
// so that a span's events always pair.
func (m *Mapper) AddStart(tl *Timeline, s *spans.Span, depth int, as SpanType) bool {
	sc := getScratch()
	defer putScratch(sc)
	return m.addStart(tl, sc, s, depth, as)
}

// AddEnd adds the event for the end of a span whose start was typed as
// (see AddStart), and reports whether the level filter kept it. What only
// the ended span tells, such as a step that turned out to be a tool call,
// goes into the payload.
func (m *Mapper) AddEnd(tl *Timeline, s *spans.Span, depth int, as SpanType) bool {
	sc := getScratch()
	defer putScratch(sc)
	return m.addEnd(tl, sc, s, depth, as, false)
}

// AddLiveEnd is AddEnd for a span whose start event was sent when it
// started, before it had span events: what its events say of its request
// (an LLM call's prompt and system instructions, a tool call's input and
// call id) goes into the end event, as the start event could not carry it.
func (m *Mapper) AddLiveEnd(tl *Timeline, s *spans.Span, depth int, as SpanType) bool {
	sc := getScratch()
	defer putScratch(sc)
	return m.addEnd(tl, sc, s, depth, as, true)
}

// AddSpanEvents adds one event per span event: its name as type, its
// attributes as payload; exception events, and agentos.level, set the level.
// The GenAI content events of a span typed as (or of a run root) feed its
// fields instead, and are not added.
func (m *Mapper) AddSpanEvents(tl *Timeline, s *spans.Span, depth int, as SpanType, isRoot bool) {
	sc := getScratch()
	defer putScratch(sc)
	m.addSpanEvents(tl, sc, s, depth, as, isRoot)
}

// scratch is where a payload is written before the timeline copies it:
// it never leaves the call, so it is reused. It holds the payload's obj
// too, which extractors reach through a pointer and would otherwise move
// to the heap for every event, and staging, where the events of a single
// span collect before they are copied into one allocation of their size.
type scratch struct {
	buf     []byte
	o       obj
	staging []byte
	entries []entry
}

// maxKeptScratch bounds the scratch buffers kept for reuse.
const maxKeptScratch = 1 << 20

var scratchPool = sync.Pool{New: func() any {
	return &scratch{buf: make([]byte, 0, 4<<10), staging: make([]byte, 0, maxChunk)}
}}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(sc *scratch) {
	if cap(sc.buf) <= maxKeptScratch {
		scratchPool.Put(sc)
	}
}

// spanPayload opens a payload object, in the scratch buffer, with the ids
// that rebuild the tree.
func (m *Mapper) spanPayload(sc *scratch, s *spans.Span) *obj {
	sc.o = m.newObj(sc.buf[:0])
	o := &sc.o
	o.id("span_id", s.SpanID[:])
	if s.HasParent() {
		o.id("parent_span_id", s.ParentSpanID[:])
	} else {
		o.str("parent_span_id", "")
	}
	o.str("span_name", s.Name)
	return o
}

// addPayload closes o and adds it to tl as the payload of e.
func (tl *Timeline) addPayload(sc *scratch, o *obj, e entry) {
	sc.buf = o.close()
	tl.add(e, sc.buf)
	sc.o = obj{}
}

// field appends the first attribute of keys present under name.
func (o *obj) field(s *spans.Span, name string, keys []string) bool {
	k, v, ok := firstAttr(s, keys...)
	if ok {
		o.attr(name, k, v)
	}
	return ok
}

func (m *Mapper) addStart(tl *Timeline, sc *scratch, s *spans.Span, depth int, as SpanType) bool {
	if !m.keeps(agentosapi.LevelInfo) {
		return false
	}
	o := m.spanPayload(sc, s)
	var typ string
	switch as {
	case TypeLLM:
		typ = "llm.request"
		o.from(s, "model", modelSources)
		o.from(s, "provider", providerSources)
		if !o.from(s, "prompt", promptSources) {
			o.str("prompt", "")
		}
		o.from(s, "system_instructions", systemInstructionSources)
	case TypeTool:
		typ = "tool.called"
		o.str("tool", toolName(s))
		if !o.from(s, "input", toolInputSources) {
			o.raw("input", []byte("null"))
		}
		o.from(s, "call_id", toolCallIDSources)
	case TypeAgent:
		typ = "agent.started"
		o.str("agent", agentName(s))
	default:
		typ = "step.started"
		o.str("name", s.Name)
	}
	tl.addPayload(sc, o, newEntry(s.StartTime, PhaseStart, depth, 0, s.SpanID, typ, agentosapi.LevelInfo))
	return true
}

func (m *Mapper) addEnd(tl *Timeline, sc *scratch, s *spans.Span, depth int, as SpanType, live bool) bool {
	failed := s.StatusCode == spans.StatusError
	level := agentosapi.LevelInfo
	if failed {
		level = agentosapi.LevelError
	}
	if !m.keeps(level) {
		return false
	}
	o := m.spanPayload(sc, s)
	var typ string
	switch as {
	case TypeLLM:
		typ = "llm.response"
		o.from(s, "model", responseModelSources)
		if !o.from(s, "response", responseSources) {
			o.str("response", "")
		}
		if n, ok := inputTokens(s); ok {
			o.int("input_tokens", n)
		}
		if n, ok := outputTokens(s); ok {
			o.int("output_tokens", n)
		}
		o.from(s, "finish_reasons", finishSources)
		if live {
			m.fromEventsOnly(o, s, "prompt", promptSources, promptEventSources)
			m.fromEventsOnly(o, s, "system_instructions", systemInstructionSources, systemInstructionEventSources)
		}
		o.duration("duration_ms", s)
		if failed {
			o.str("error", errorText(s))
		}
	case TypeTool:
		if failed {
			typ = "tool.failed"
			o.str("tool", toolName(s))
			o.str("error", errorText(s))
		} else {
			typ = "tool.returned"
			o.str("tool", toolName(s))
			if !o.from(s, "output", toolOutputSources) {
				o.raw("output", []byte("null"))
			}
		}
		if live {
			m.fromEventsOnly(o, s, "input", toolInputSources, toolInputEventSources)
			m.fromEventsOnly(o, s, "call_id", toolCallIDSources, toolCallIDEventSources)
		}
		o.duration("duration_ms", s)
	case TypeAgent:
		typ = "agent.completed"
		if failed {
			typ = "agent.failed"
			o.str("error", errorText(s))
		}
		o.str("agent", agentName(s))
		o.duration("duration_ms", s)
	default:
		typ = "step.completed"
		if failed {
			typ = "step.failed"
			o.str("error", errorText(s))
		}
		o.duration("duration_ms", s)
		o.str("status", statusText(s.StatusCode))
		if late := classify(s); late != TypeStep {
			// Classified only at its end: say what it turned out to be.
			o.str("span_type", late.String())
			switch late {
			case TypeTool:
				o.str("tool", toolName(s))
			case TypeAgent:
				o.str("agent", agentName(s))
			case TypeLLM:
				o.from(s, "model", responseModelSources)
			}
		}
		if len(s.Attrs) > 0 {
			o.attrs("attributes", s.Attrs, nil)
		}
	}
	tl.addPayload(sc, o, newEntry(s.EndTime, PhaseEnd, depth, 0, s.SpanID, typ, level))
	return true
}

func (m *Mapper) addSpanEvents(tl *Timeline, sc *scratch, s *spans.Span, depth int, as SpanType, isRoot bool) {
	consume := consumesContentEvents(as, isRoot)
	// Log records follow the span events in Events: their index keeps
	// them after span events of the same instant.
	for i := range s.Events {
		se := &s.Events[i]
		if consume && isContentEvent(se.Name) {
			continue
		}
		level := agentosapi.LevelInfo
		if se.Name == "exception" {
			level = agentosapi.LevelError
		}
		if l := stringAttr(se.Attrs, keyLevel); agentosapi.ValidLevel(l) {
			level = l
		}
		if !m.keeps(level) {
			continue
		}
		typ := se.Name
		if typ == "" {
			typ = "span.event"
		}
		o := m.spanPayload(sc, s)
		for j := range se.Attrs {
			switch se.Attrs[j].Key {
			case keyLevel, "span_id", "parent_span_id", "span_name":
				continue
			}
			o.attr(se.Attrs[j].Key, se.Attrs[j].Key, se.Attrs[j].Value)
		}
		tl.addPayload(sc, o, newEntry(se.Time, PhaseSpanEvent, depth, i, s.SpanID, typ, level))
	}
}

// fromEventsOnly writes name from the span events' sources when no
// attribute source has it: the live start event showed the attributes'.
func (m *Mapper) fromEventsOnly(o *obj, s *spans.Span, name string, all, events sources) {
	if !hasContentEvents(s) {
		return // the common case: no probe, which would encode the field again
	}
	probe := m.newObj(nil)
	if probe.from(s, name, all[:len(all)-len(events)]) {
		return
	}
	o.from(s, name, events)
}

func toolName(s *spans.Span) string {
	if n := firstString(s, toolNameKeys...); n != "" {
		return n
	}
	return s.Name
}

func agentName(s *spans.Span) string {
	if n := firstString(s, agentNameKeys...); n != "" {
		return n
	}
	return s.Name
}

func statusText(c spans.StatusCode) string {
	switch c {
	case spans.StatusOK:
		return "ok"
	case spans.StatusError:
		return "error"
	}
	return "unset"
}
