package mapping

import (
	"bytes"
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

// Less is the timeline order (docs/mapping.md, "Order"): occurred_at, then
// start < span events < end, then parent < child; span id and index make
// it total.
func Less(a, b *Event) bool {
	if !a.At.Equal(b.At) {
		return a.At.Before(b.At)
	}
	if a.Phase != b.Phase {
		return a.Phase < b.Phase
	}
	if a.Depth != b.Depth {
		return a.Depth < b.Depth
	}
	if c := bytes.Compare(a.SpanID[:], b.SpanID[:]); c != 0 {
		return c < 0
	}
	return a.Index < b.Index
}

// AppendEvents appends every event of an ended span: its start and end
// events (not for the run root, which is the run itself) and its span events.
func (m *Mapper) AppendEvents(dst []Event, s *spans.Span, depth int, isRoot bool) []Event {
	typ := Classify(s)
	if !isRoot {
		if e, ok := m.StartEvent(s, depth, typ); ok {
			dst = append(dst, e)
		}
	}
	dst = m.AppendSpanEvents(dst, s, depth)
	if !isRoot {
		if e, ok := m.EndEvent(s, depth, typ); ok {
			dst = append(dst, e)
		}
	}
	return dst
}

func (m *Mapper) event(s *spans.Span, depth int, phase Phase, at time.Time, typ, level string, payload []byte) Event {
	return Event{
		At: at, Phase: phase, Depth: depth, SpanID: s.SpanID,
		Wire: agentosapi.Event{Type: typ, Level: level, Payload: payload, OccurredAt: FormatTime(at)},
	}
}

// spanPayload opens a payload object with the ids that rebuild the tree.
func (m *Mapper) spanPayload(s *spans.Span) obj {
	o := m.newObj(make([]byte, 0, 256))
	o.str("span_id", s.SpanID.String())
	if s.HasParent() {
		o.str("parent_span_id", s.ParentSpanID.String())
	} else {
		o.str("parent_span_id", "")
	}
	o.str("span_name", s.Name)
	return o
}

// field appends the first attribute of keys present under name.
func (o *obj) field(s *spans.Span, name string, keys []string) bool {
	k, v, ok := firstAttr(s, keys...)
	if ok {
		o.attr(name, k, v)
	}
	return ok
}

// StartEvent is the event for the start of a span of type typ. The same
// typ must be given to EndEvent, so that a span's events always pair.
func (m *Mapper) StartEvent(s *spans.Span, depth int, as SpanType) (Event, bool) {
	if !m.keeps(agentosapi.LevelInfo) {
		return Event{}, false
	}
	o := m.spanPayload(s)
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
	return m.event(s, depth, PhaseStart, s.StartTime, typ, agentosapi.LevelInfo, o.close()), true
}

// EndEvent is the event for the end of a span whose start was typed as
// (see StartEvent). What only the ended span tells, such as a step that
// turned out to be a tool call, goes into the payload.
func (m *Mapper) EndEvent(s *spans.Span, depth int, as SpanType) (Event, bool) {
	failed := s.StatusCode == spans.StatusError
	level := agentosapi.LevelInfo
	if failed {
		level = agentosapi.LevelError
	}
	if !m.keeps(level) {
		return Event{}, false
	}
	o := m.spanPayload(s)
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
		o.float("duration_ms", durationMS(s))
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
		o.float("duration_ms", durationMS(s))
	case TypeAgent:
		typ = "agent.completed"
		if failed {
			typ = "agent.failed"
			o.str("error", errorText(s))
		}
		o.str("agent", agentName(s))
		o.float("duration_ms", durationMS(s))
	default:
		typ = "step.completed"
		if failed {
			typ = "step.failed"
			o.str("error", errorText(s))
		}
		o.float("duration_ms", durationMS(s))
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
	return m.event(s, depth, PhaseEnd, s.EndTime, typ, level, o.close()), true
}

// AppendSpanEvents appends one event per span event: its name as type, its
// attributes as payload; exception events, and agentos.level, set the level.
func (m *Mapper) AppendSpanEvents(dst []Event, s *spans.Span, depth int) []Event {
	for i := range s.Events {
		se := &s.Events[i]
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
		o := m.spanPayload(s)
		for j := range se.Attrs {
			switch se.Attrs[j].Key {
			case keyLevel, "span_id", "parent_span_id", "span_name":
				continue
			}
			o.attr(se.Attrs[j].Key, se.Attrs[j].Key, se.Attrs[j].Value)
		}
		e := m.event(s, depth, PhaseSpanEvent, se.Time, typ, level, o.close())
		e.Index = i
		dst = append(dst, e)
	}
	return dst
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
