package mapping

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// TestLangChainOutputValue covers what LangChain's OpenInference spans keep
// only in output.value, as captured from langchain 1.5 (see
// testdata/capture): the reply's tool calls and model, and a tool's result
// and call id inside its serialised ToolMessage; redaction reaches them.
func TestLangChainOutputValue(t *testing.T) {
	llmOut := `{"generations":[[{"text":"","message":{"lc":1,"type":"constructor","id":["langchain_core","messages","AIMessage"],"kwargs":{"content":"","tool_calls":[{"id":"call_1","name":"login","args":{"user":"bob","password":"hunter2"}}],"response_metadata":{"finish_reason":"tool_calls","model_name":"gpt-4o-mini-2024-07-18"}}}}]]}`
	toolOut := `{"output":{"lc":1,"type":"constructor","id":["langchain_core","messages","ToolMessage"],"kwargs":{"status":"success","content":"{\"token\":\"t\",\"password\":\"x\"}","tool_call_id":"call_1","name":"login"}}}`
	llm := &spans.Span{Name: "ChatOpenAI", StartTime: time.Unix(1, 0), EndTime: time.Unix(2, 0), Attrs: []spans.Attr{
		{Key: keyOpenInferenceKind, Value: spans.StringValue("LLM")},
		{Key: keyOIOutputValue, Value: spans.StringValue(llmOut)},
		{Key: "llm.output_messages.0.message.role", Value: spans.StringValue("assistant")},
		{Key: "llm.output_messages.0.message.content", Value: spans.StringValue("")},
	}}
	tool := &spans.Span{Name: "login", StartTime: time.Unix(1, 0), EndTime: time.Unix(2, 0), Attrs: []spans.Attr{
		{Key: keyOpenInferenceKind, Value: spans.StringValue("TOOL")},
		{Key: "tool.name", Value: spans.StringValue("login")},
		{Key: "input.value", Value: spans.StringValue(`{"user":"bob","password":"hunter2"}`)},
		{Key: keyOIOutputValue, Value: spans.StringValue(toolOut)},
	}}
	for _, tc := range []struct {
		name   string
		span   *spans.Span
		redact bool
		start  bool
		want   map[string]string // payload field → its JSON
	}{
		{"reply with tool calls", llm, false, false, map[string]string{
			"model":          `"gpt-4o-mini-2024-07-18"`,
			"finish_reasons": `["tool_calls"]`,
			"response":       `[{"role":"assistant","content":"","tool_calls":[{"id":"call_1","name":"login","args":{"user":"bob","password":"hunter2"}}]}]`,
		}},
		{"reply redacted", llm, true, false, map[string]string{
			"response": `[{"role":"assistant","content":"","tool_calls":[{"id":"call_1","name":"login","args":{"user":"bob","password":"[REDACTED]"}}]}]`,
		}},
		{"tool result", tool, false, false, map[string]string{"output": `{"token":"t","password":"x"}`}},
		{"tool result redacted", tool, true, false, map[string]string{"output": `{"token":"t","password":"[REDACTED]"}`}},
		{"tool call id", tool, false, true, map[string]string{"call_id": `"call_1"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{DefaultAgentID: "00000000-0000-4000-8000-000000000001"}
			if tc.redact {
				opts.Redaction = Redaction{Patterns: []*regexp.Regexp{regexp.MustCompile(`(?i)password`)}}
			}
			m, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			typ := Classify(tc.span)
			ev, ok := m.EndEvent(tc.span, 1, typ)
			if tc.start {
				ev, ok = m.StartEvent(tc.span, 1, typ)
			}
			if !ok {
				t.Fatal("no event")
			}
			var payload map[string]json.RawMessage
			if err := json.Unmarshal(ev.Wire.Payload, &payload); err != nil {
				t.Fatal(err)
			}
			for field, want := range tc.want {
				if got := string(payload[field]); got != want {
					t.Errorf("%s = %s, want %s", field, got, want)
				}
			}
		})
	}
}
