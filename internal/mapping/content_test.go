package mapping

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

const testAgent = "00000000-0000-4000-8000-000000000001"

func str(k, v string) spans.Attr { return spans.Attr{Key: k, Value: spans.StringValue(v)} }

func event(name string, attrs ...spans.Attr) spans.Event {
	return spans.Event{Name: name, Time: time.Unix(1, 500), Attrs: attrs}
}

func newTestMapper(t *testing.T, redact ...string) *Mapper {
	t.Helper()
	opts := Options{DefaultAgentID: testAgent}
	for _, r := range redact {
		opts.Redaction.Patterns = append(opts.Redaction.Patterns, regexp.MustCompile(r))
	}
	m, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// payloads maps the events of an ended span by type to their payloads.
func payloads(t *testing.T, m *Mapper, s *spans.Span, isRoot bool) map[string]map[string]json.RawMessage {
	t.Helper()
	out := map[string]map[string]json.RawMessage{}
	for _, e := range m.AppendEvents(nil, s, 1, isRoot) {
		var p map[string]json.RawMessage
		if err := json.Unmarshal(e.Wire.Payload, &p); err != nil {
			t.Fatal(err)
		}
		if _, dup := out[e.Wire.Type]; dup {
			t.Errorf("two %s events", e.Wire.Type)
		}
		out[e.Wire.Type] = p
	}
	return out
}

func wantFields(t *testing.T, p map[string]json.RawMessage, want map[string]string) {
	t.Helper()
	for field, w := range want {
		if got := string(p[field]); got != w {
			t.Errorf("%s = %s, want %s", field, got, w)
		}
	}
}

func span(name string, attrs []spans.Attr, events ...spans.Event) *spans.Span {
	return &spans.Span{Name: name, SpanID: spans.SpanID{1}, ParentSpanID: spans.SpanID{2},
		StartTime: time.Unix(1, 0), EndTime: time.Unix(2, 0), Attrs: attrs, Events: events}
}

// TestContentFromEarlierConventionEvents reads a chat span and a tool span
// as Strands Agents emits them by default: one span event per message.
func TestContentFromEarlierConventionEvents(t *testing.T) {
	m := newTestMapper(t)
	chat := span("chat", []spans.Attr{str(keyOperationName, "chat")},
		event(eventSystemMessage, str("content", `[{"text":"Be brief."}]`)),
		event(eventUserMessage, str("content", `[{"text":"Weather in Paris?"}]`)),
		event(eventToolMessage, str("content", `[{"toolResult":{"toolUseId":"c1"}}]`), str("id", "c1")),
		event("retry", str("attempt", "2")),
		event(eventChoice, str("message", `[{"text":"18 °C"}]`), str("finish_reason", "end_turn")),
	)
	got := payloads(t, m, chat, false)
	wantFields(t, got["llm.request"], map[string]string{
		"prompt": `[{"role":"system","content":[{"text":"Be brief."}]},{"role":"user","content":[{"text":"Weather in Paris?"}]},{"role":"tool","content":[{"toolResult":{"toolUseId":"c1"}}],"id":"c1"}]`,
	})
	wantFields(t, got["llm.response"], map[string]string{
		"response":       `[{"role":"assistant","content":[{"text":"18 °C"}]}]`,
		"finish_reasons": `["end_turn"]`,
	})
	for _, consumed := range []string{eventSystemMessage, eventUserMessage, eventToolMessage, eventChoice} {
		if _, ok := got[consumed]; ok {
			t.Errorf("consumed %s also sent as a generic event", consumed)
		}
	}
	wantFields(t, got["retry"], map[string]string{"attempt": `"2"`})

	tool := span("execute_tool get_weather", []spans.Attr{str(keyOperationName, "execute_tool"), str("gen_ai.tool.name", "get_weather")},
		event(eventToolMessage, str("role", "tool"), str("content", `{"city":"Paris"}`), str("id", "c1")),
		event(eventChoice, str("message", `[{"json":{"temp_c":18}}]`), str("id", "c1")),
	)
	got = payloads(t, m, tool, false)
	wantFields(t, got["tool.called"], map[string]string{"input": `{"city":"Paris"}`, "call_id": `"c1"`})
	wantFields(t, got["tool.returned"], map[string]string{"output": `[{"json":{"temp_c":18}}]`})
	if len(got) != 2 {
		t.Errorf("tool span gave %d events, want its start and end only", len(got))
	}
}

// TestContentFromDetailsEvent reads the newer conventions' single details
// event, input and output in two events as Strands emits them.
func TestContentFromDetailsEvent(t *testing.T) {
	m := newTestMapper(t)
	chat := span("chat", []spans.Attr{str(keyOperationName, "chat")},
		event(eventOperationDetails, str(keySystemInstructions, `[{"type":"text","content":"Be brief."}]`)),
		event(eventOperationDetails, str(keyInputMessages, `[{"role":"user","parts":[{"type":"text","content":"Hi"}]}]`)),
		event(eventOperationDetails, str(keyOutputMessages, `[{"role":"assistant","parts":[{"type":"text","content":"Hello"}],"finish_reason":"stop"}]`)),
	)
	got := payloads(t, m, chat, false)
	wantFields(t, got["llm.request"], map[string]string{
		"prompt":              `[{"role":"user","parts":[{"type":"text","content":"Hi"}]}]`,
		"system_instructions": `[{"type":"text","content":"Be brief."}]`,
	})
	wantFields(t, got["llm.response"], map[string]string{
		"response":       `[{"role":"assistant","parts":[{"type":"text","content":"Hello"}],"finish_reason":"stop"}]`,
		"finish_reasons": `["stop"]`,
	})
	if len(got) != 2 {
		t.Errorf("chat span gave %d events, want 2: %v", len(got), got)
	}

	tool := span("execute_tool get_weather", []spans.Attr{str(keyOperationName, "execute_tool")},
		event(eventOperationDetails, str(keyInputMessages, `[{"role":"tool","parts":[{"type":"tool_call","name":"get_weather","id":"c1","arguments":{"city":"Paris"}}]}]`)),
		event(eventOperationDetails, str(keyOutputMessages, `[{"role":"tool","parts":[{"type":"tool_call_response","id":"c1","response":"{\"temp_c\":18}"}]}]`)),
	)
	got = payloads(t, m, tool, false)
	wantFields(t, got["tool.called"], map[string]string{"input": `{"city":"Paris"}`, "call_id": `"c1"`})
	wantFields(t, got["tool.returned"], map[string]string{"output": `{"temp_c":18}`})
}

// TestContentAttributesWin: where an attribute and an event hold the same
// field, the attribute's copy is sent and the event is not sent at all.
func TestContentAttributesWin(t *testing.T) {
	m := newTestMapper(t)
	chat := span("chat", []spans.Attr{str(keyOperationName, "chat"), str(keyInputMessages, `[{"role":"user","content":"from attribute"}]`)},
		event(eventUserMessage, str("content", "from event")),
		event(eventChoice, str("message", "answer"), str("finish_reason", "stop")),
	)
	got := payloads(t, m, chat, false)
	wantFields(t, got["llm.request"], map[string]string{"prompt": `[{"role":"user","content":"from attribute"}]`})
	wantFields(t, got["llm.response"], map[string]string{"response": `[{"role":"assistant","content":"answer"}]`})
	if len(got) != 2 {
		t.Errorf("gave %d events, want 2 (no second copy of the prompt): %v", len(got), got)
	}
}

// TestContentEventsOnStepsStay: a span nothing reads content from keeps
// its content events as generic events, so nothing is lost.
func TestContentEventsOnStepsStay(t *testing.T) {
	m := newTestMapper(t)
	cycle := span("execute_agent_loop_cycle", nil, event(eventUserMessage, str("content", "hi")))
	got := payloads(t, m, cycle, false)
	wantFields(t, got[eventUserMessage], map[string]string{"content": `"hi"`})
}

// TestContentRunInputOutput: a run root's content events are its input
// and output; attributes of another vocabulary still come first.
func TestContentRunInputOutput(t *testing.T) {
	m := newTestMapper(t)
	root := span("invoke_agent travel", []spans.Attr{str(keyOperationName, "invoke_agent")},
		event(eventUserMessage, str("content", `[{"text":"Weather?"}]`)),
		event(eventChoice, str("message", "Sunny."), str("finish_reason", "end_turn")),
	)
	root.ParentSpanID = spans.SpanID{}
	var in, out map[string]json.RawMessage
	if err := json.Unmarshal(m.StartRequest(root).Input, &in); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(m.CloseRequest(root, &Summary{}).Output, &out); err != nil {
		t.Fatal(err)
	}
	wantFields(t, in, map[string]string{"input_messages": `[{"role":"user","content":[{"text":"Weather?"}]}]`})
	wantFields(t, out, map[string]string{"output_messages": `[{"role":"assistant","content":"Sunny."}]`})
	if _, ok := out["input_messages"]; ok {
		t.Error("after-the-fact close repeats the input in the output")
	}
	if evs := m.AppendEvents(nil, root, 0, true); len(evs) != 0 {
		t.Errorf("root content events sent as generic events: %d", len(evs))
	}
	// Live, run/start went out before the events: the close carries them.
	if err := json.Unmarshal(m.LiveCloseRequest(root, &Summary{}).Output, &out); err != nil {
		t.Fatal(err)
	}
	wantFields(t, out, map[string]string{"input_messages": `[{"role":"user","content":[{"text":"Weather?"}]}]`})

	root.Attrs = append(root.Attrs, str("input.value", "typed prompt"))
	in = nil
	if err := json.Unmarshal(m.StartRequest(root).Input, &in); err != nil {
		t.Fatal(err)
	}
	if _, ok := in["input_messages"]; ok || string(in["input"]) != `"typed prompt"` {
		t.Errorf("input.value should win over the events: %s", m.StartRequest(root).Input)
	}
}

// TestContentLiveEnd: the live processor's start event went out before
// the events; the end event carries what only the events held, and only
// that.
func TestContentLiveEnd(t *testing.T) {
	m := newTestMapper(t)
	chat := span("chat", []spans.Attr{str(keyOperationName, "chat"), str(keySystemInstructions, "attr")},
		event(eventUserMessage, str("content", "hi")),
		event(eventChoice, str("message", "hello")),
	)
	var tl Timeline
	m.AddLiveEnd(&tl, chat, 1, TypeLLM)
	evs := tl.Take()
	var p map[string]json.RawMessage
	if err := json.Unmarshal(evs[0].Payload, &p); err != nil {
		t.Fatal(err)
	}
	wantFields(t, p, map[string]string{"prompt": `[{"role":"user","content":"hi"}]`, "response": `[{"role":"assistant","content":"hello"}]`})
	if _, ok := p["system_instructions"]; ok {
		t.Error("live end repeats system_instructions the start event had from an attribute")
	}
	p = nil
	if end, _ := m.EndEvent(chat, 1, TypeLLM); json.Unmarshal(end.Wire.Payload, &p) == nil {
		if _, ok := p["prompt"]; ok {
			t.Error("after-the-fact end event repeats the prompt")
		}
	}

	tool := span("execute_tool t", []spans.Attr{str(keyOperationName, "execute_tool")},
		event(eventToolMessage, str("content", `{"a":1}`), str("id", "c9")))
	tool.StatusCode = spans.StatusError
	m.AddLiveEnd(&tl, tool, 1, TypeTool)
	evs = tl.Take()
	p = nil
	if err := json.Unmarshal(evs[0].Payload, &p); err != nil {
		t.Fatal(err)
	}
	if evs[0].Type != "tool.failed" {
		t.Fatalf("type %s", evs[0].Type)
	}
	wantFields(t, p, map[string]string{"input": `{"a":1}`, "call_id": `"c9"`})
}

// TestContentEventsRedacted: redaction reaches content read from events.
func TestContentEventsRedacted(t *testing.T) {
	m := newTestMapper(t, `(?i)password`)
	tool := span("execute_tool login", []spans.Attr{str(keyOperationName, "execute_tool")},
		event(eventToolMessage, str("content", `{"user":"bob","password":"hunter2"}`)),
		event(eventOperationDetails, str(keyOutputMessages, `[{"role":"tool","parts":[{"type":"tool_call_response","response":{"password":"x"}}]}]`)),
	)
	got := payloads(t, m, tool, false)
	wantFields(t, got["tool.called"], map[string]string{"input": `{"user":"bob","password":"[REDACTED]"}`})
	wantFields(t, got["tool.returned"], map[string]string{"output": `{"password":"[REDACTED]"}`})
}

// TestContentFromLogs: log records correlated to a span feed its fields
// after its attributes and span events, and a consumed record is not also
// sent; other records stay generic events.
func TestContentFromLogs(t *testing.T) {
	m := newTestMapper(t)
	user, ok := LogEvent("gen_ai.user.message", time.Unix(1, 100), []spans.Attr{str("gen_ai.system", "openai")},
		spans.MapValue([]spans.Attr{str("content", "from log")}))
	if !ok {
		t.Fatal("gen_ai.user.message not taken")
	}
	choice, _ := LogEvent("", time.Unix(1, 200), []spans.Attr{str(keyEventName, "gen_ai.choice")},
		spans.MapValue([]spans.Attr{spans.Attr{Key: "index", Value: spans.IntValue(0)}, str("finish_reason", "stop"),
			spans.Attr{Key: "message", Value: spans.MapValue([]spans.Attr{str("role", "assistant"), str("content", "hi")})}}))
	other, _ := LogEvent("gen_ai.evaluation.result", time.Unix(1, 300), nil, spans.StringValue("good"))
	if _, ok := LogEvent("", time.Unix(1, 0), nil, spans.StringValue("app log line")); ok {
		t.Error("a record without a GenAI event name was taken")
	}

	chat := span("chat", []spans.Attr{str(keyOperationName, "chat")})
	chat.AppendLogs(user, choice, other)
	got := payloads(t, m, chat, false)
	wantFields(t, got["llm.request"], map[string]string{"prompt": `[{"role":"user","content":"from log"}]`})
	wantFields(t, got["llm.response"], map[string]string{"response": `[{"role":"assistant","content":"hi"}]`, "finish_reasons": `["stop"]`})
	wantFields(t, got["gen_ai.evaluation.result"], map[string]string{"body": `"good"`})
	if len(got) != 3 {
		t.Errorf("gave %d events, want request, response and the unread record: %v", len(got), got)
	}

	// A span event outranks the log copy of the same message.
	logs := chat.TakeLogs()
	chat.Events = []spans.Event{event(eventUserMessage, str("content", "from event"))}
	chat.AppendLogs(logs...)
	got = payloads(t, m, chat, false)
	wantFields(t, got["llm.request"], map[string]string{"prompt": `[{"role":"user","content":"from event"}]`})
}
