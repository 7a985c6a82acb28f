package mapping

import (
	"encoding/json"
	"strings"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// GenAI content carried as span events rather than attributes. Before
// semconv v1.37 each message was an event of its own (Strands Agents still
// emits these by default); since then one details event holds the message
// lists as attributes.
const (
	eventSystemMessage    = "gen_ai.system.message"
	eventUserMessage      = "gen_ai.user.message"
	eventAssistantMessage = "gen_ai.assistant.message"
	eventToolMessage      = "gen_ai.tool.message"
	eventChoice           = "gen_ai.choice"
	eventOperationDetails = "gen_ai.client.inference.operation.details"

	keyInputMessages      = "gen_ai.input.messages"
	keyOutputMessages     = "gen_ai.output.messages"
	keySystemInstructions = "gen_ai.system_instructions"
	keyFinishReasons      = "gen_ai.response.finish_reasons"
)

// contentEventNames are the span events the mapping reads content from.
var contentEventNames = []string{eventSystemMessage, eventUserMessage, eventAssistantMessage,
	eventToolMessage, eventChoice, eventOperationDetails}

// messageRole is the role an earlier-conventions message event stands for.
func messageRole(event string) (string, bool) {
	switch event {
	case eventSystemMessage:
		return "system", true
	case eventUserMessage:
		return "user", true
	case eventAssistantMessage:
		return "assistant", true
	case eventToolMessage:
		return "tool", true
	}
	return "", false
}

func isContentEvent(name string) bool {
	_, ok := messageRole(name)
	return ok || name == eventChoice || name == eventOperationDetails
}

// hasContentEvents reports whether the span has a content event (or log
// record) at all.
func hasContentEvents(s *spans.Span) bool {
	for i := range s.Events {
		if isContentEvent(s.Events[i].Name) {
			return true
		}
	}
	return false
}

// consumesContentEvents reports whether the content events of a span typed
// as are read into fields (docs/mapping.md, "Content in span events"), and
// so are not also sent as generic events. A run root's feed the run's input
// and output; on other spans only LLM calls and tool calls read them.
func consumesContentEvents(as SpanType, isRoot bool) bool {
	return isRoot || as == TypeLLM || as == TypeTool
}

// Content tiers, in precedence order after the span's attributes: its
// own span events, then the log records correlated to it.
const (
	tierSpanEvents = iota
	tierLogs
)

func tierEvents(s *spans.Span, tier int) []spans.Event {
	if tier == tierLogs {
		return s.Logs()
	}
	return s.SpanEvents()
}

// tiered lists sources tier by tier: every source over the span events,
// then every source over the logs, so that no log outranks an event.
func tiered(fns ...func(tier int) source) sources {
	out := make(sources, 0, 2*len(fns))
	for _, tier := range []int{tierSpanEvents, tierLogs} {
		for _, fn := range fns {
			src := fn(tier)
			src.events = true
			out = append(out, src)
		}
	}
	return out
}

// eventAttr is the first value of key on an event named name in tier.
func eventAttr(s *spans.Span, tier int, name, key string) (spans.Value, bool) {
	evs := tierEvents(s, tier)
	for i := range evs {
		if evs[i].Name != name {
			continue
		}
		if v, ok := spans.Lookup(evs[i].Attrs, key); ok && !isEmptyValue(v) {
			return v, true
		}
	}
	return spans.Value{}, false
}

func isEmptyValue(v spans.Value) bool {
	s, ok := v.AsString()
	return v.Kind() == spans.KindEmpty || ok && s == ""
}

// detailsAttr is a details-event attribute, written as it is.
func detailsAttr(key string) func(int) source {
	return func(tier int) source {
		return source{key: eventOperationDetails, extract: func(o *obj, name string, s *spans.Span) bool {
			return detailsAttrIn(o, name, s, tier, key)
		}}
	}
}

func detailsAttrIn(o *obj, name string, s *spans.Span, tier int, key string) bool {
	v, ok := eventAttr(s, tier, eventOperationDetails, key)
	if !ok {
		return false
	}
	o.attr(name, key, v)
	return true
}

// messageEvents rebuilds the conversation of earlier-conventions message
// events as [{"role":…,"content":…,"id":…}], in event order.
func messageEvents(tier int) source {
	return source{key: eventUserMessage, extract: func(o *obj, name string, s *spans.Span) bool {
		found := false
		evs := tierEvents(s, tier)
		for i := range evs {
			se := &evs[i]
			role, ok := messageRole(se.Name)
			if !ok {
				continue
			}
			if !found {
				found = true
				if o.redacted(name, se.Name) {
					return true
				}
				o.key(name)
				o.buf = append(o.buf, '[')
			} else {
				o.buf = append(o.buf, ',')
			}
			msg := o.m.newObj(o.buf)
			if r := stringAttr(se.Attrs, "role"); r != "" {
				role = r
			}
			msg.str("role", role)
			// content, id, tool_calls, …: the message's own members; gen_ai.*
			// attributes (gen_ai.system on log records) describe the call.
			for _, a := range se.Attrs {
				if a.Key == "role" || strings.HasPrefix(a.Key, "gen_ai.") || a.Key == "id" && isEmptyValue(a.Value) {
					continue
				}
				msg.attr(a.Key, a.Key, a.Value)
			}
			o.buf = msg.close()
		}
		if found {
			o.buf = append(o.buf, ']')
		}
		return found
	}}
}

// choiceEvents rebuilds the reply of gen_ai.choice events as messages: a
// message that is already an object ({"role":…,"content":…}) as it is, any
// other (Strands' content blocks, a plain answer) as an assistant's content.
func choiceEvents(tier int) source {
	return source{key: eventChoice, extract: func(o *obj, name string, s *spans.Span) bool {
		found := false
		evs := tierEvents(s, tier)
		for i := range evs {
			se := &evs[i]
			if se.Name != eventChoice {
				continue
			}
			v, ok := spans.Lookup(se.Attrs, "message")
			if !ok {
				continue
			}
			if !found {
				found = true
				if o.redacted(name, eventChoice) {
					return true
				}
				o.key(name)
				o.buf = append(o.buf, '[')
			} else {
				o.buf = append(o.buf, ',')
			}
			if v.Kind() == spans.KindMap {
				if _, hasRole := spans.Lookup(v.Map(), "role"); !hasRole {
					// The conventions leave the role out of a choice's message.
					v = spans.MapValue(append([]spans.Attr{{Key: "role", Value: spans.StringValue("assistant")}}, v.Map()...))
				}
			}
			if isObject(v) {
				o.buf = o.m.appendValue(o.buf, v, 0, true)
				continue
			}
			msg := o.m.newObj(o.buf)
			msg.str("role", "assistant")
			msg.attr("content", "message", v)
			o.buf = msg.close()
		}
		if found {
			o.buf = append(o.buf, ']')
		}
		return found
	}}
}

// isObject reports a map value, or a string that opens a JSON object.
// Only its first byte is looked at: a full parse cost 6 times the rest of
// the end event (BenchmarkLLMEnd/events), and one that does not parse is
// written as a string anyway.
func isObject(v spans.Value) bool {
	if v.Kind() == spans.KindMap {
		return true
	}
	str, ok := v.AsString()
	if !ok {
		return false
	}
	for i := 0; i < len(str); i++ {
		switch str[i] {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return str[i] == '{'
	}
	return false
}

// choiceFinishReasons are the finish reasons of gen_ai.choice events.
func choiceFinishReasons(tier int) source {
	return source{key: eventChoice, extract: func(o *obj, name string, s *spans.Span) bool {
		var reasons []string
		evs := tierEvents(s, tier)
		for i := range evs {
			if evs[i].Name == eventChoice {
				if r := stringAttr(evs[i].Attrs, "finish_reason"); r != "" {
					reasons = append(reasons, r)
				}
			}
		}
		if len(reasons) == 0 {
			return false
		}
		if !o.redacted(name, eventChoice) {
			o.strArray(name, reasons...)
		}
		return true
	}}
}

// detailsFinishReasons are the details event's finish reasons: its
// gen_ai.response.finish_reasons, else those of its output messages.
func detailsFinishReasons(tier int) source {
	return source{key: eventOperationDetails, extract: func(o *obj, name string, s *spans.Span) bool {
		if v, ok := eventAttr(s, tier, eventOperationDetails, keyFinishReasons); ok {
			if str, isStr := v.AsString(); isStr && !looksLikeJSON(str) {
				o.strArray(name, str)
			} else {
				o.attr(name, keyFinishReasons, v)
			}
			return true
		}
		var reasons []string
		for _, msg := range detailsMessages(s, tier, keyOutputMessages) {
			if r := memberString(msg, "finish_reason"); r != "" {
				reasons = append(reasons, r)
			}
		}
		if len(reasons) == 0 {
			return false
		}
		if !o.redacted(name, eventOperationDetails) {
			o.strArray(name, reasons...)
		}
		return true
	}}
}

// detailsMessages parses a message list of the details event.
func detailsMessages(s *spans.Span, tier int, key string) []map[string]json.RawMessage {
	v, ok := eventAttr(s, tier, eventOperationDetails, key)
	if !ok {
		return nil
	}
	str, ok := v.AsString()
	if !ok || !looksLikeJSON(str) {
		return nil
	}
	var msgs []map[string]json.RawMessage
	if json.Unmarshal([]byte(str), &msgs) != nil {
		return nil
	}
	return msgs
}

// detailsToolPart is a member of the first message part of type partType
// in a details event's message list: a tool span's call ("tool_call":
// "arguments", "id") or its result ("tool_call_response": "response").
func detailsToolPart(key, partType, field string) func(int) source {
	return func(tier int) source { return detailsToolPartIn(tier, key, partType, field) }
}

func detailsToolPartIn(tier int, key, partType, field string) source {
	return source{key: eventOperationDetails, extract: func(o *obj, name string, s *spans.Span) bool {
		for _, msg := range detailsMessages(s, tier, key) {
			raw, ok := member(msg, "parts")
			var parts []map[string]json.RawMessage
			if !ok || json.Unmarshal(raw, &parts) != nil {
				continue
			}
			for _, p := range parts {
				if memberString(p, "type") != partType {
					continue
				}
				v, ok := member(p, field)
				if !ok {
					continue
				}
				if !o.redacted(name, key) {
					o.key(name)
					o.buf = o.m.appendEmbedded(o.buf, v)
				}
				return true
			}
		}
		return false
	}}
}

// appendEmbedded writes a JSON value; a string that itself holds JSON (a
// serialised argument object) is embedded as that JSON.
func (m *Mapper) appendEmbedded(buf []byte, raw json.RawMessage) []byte {
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return m.appendValue(buf, spans.StringValue(str), 0, true)
	}
	return m.appendJSON(buf, raw, true)
}

// eventAttrSource is an attribute of the first span event named event.
func eventAttrSource(event, key string) func(int) source {
	return func(tier int) source {
		return source{key: event, extract: func(o *obj, name string, s *spans.Span) bool {
			v, ok := eventAttr(s, tier, event, key)
			if !ok {
				return false
			}
			o.attr(name, key, v)
			return true
		}}
	}
}
