package mapping

import (
	"encoding/json"
	"testing"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

func intAttr(k string, v int64) spans.Attr { return spans.Attr{Key: k, Value: spans.IntValue(v)} }

// TestTraceloopLLM reads an LLM span of OpenLLMetry's older Python
// instrumentations: typed by llm.request.type, flattened prompts and
// completions, its token keys.
func TestTraceloopLLM(t *testing.T) {
	m := newTestMapper(t)
	llm := span("openai.chat", []spans.Attr{
		str(keyTraceloopRequestType, "chat"),
		str("gen_ai.system", "OpenAI"),
		str("gen_ai.request.model", "gpt-4o"),
		str("gen_ai.prompt.0.role", "system"),
		str("gen_ai.prompt.0.content", "Be brief."),
		str("gen_ai.prompt.1.role", "user"),
		str("gen_ai.prompt.1.content", "Weather in Paris?"),
		str("gen_ai.completion.0.role", "assistant"),
		str("gen_ai.completion.0.finish_reason", "tool_calls"),
		str("gen_ai.completion.0.tool_calls.0.name", "get_weather"),
		str("gen_ai.completion.0.tool_calls.0.arguments", `{"city":"Paris"}`),
		str("gen_ai.completion.1.role", "assistant"),
		str("gen_ai.completion.1.content", "Sunny"),
		str("gen_ai.completion.1.finish_reason", "stop"),
		intAttr("gen_ai.usage.prompt_tokens", 31),
		intAttr("gen_ai.usage.completion_tokens", 9),
	})
	if got := Classify(llm); got != TypeLLM {
		t.Fatalf("typed %s", got)
	}
	got := payloads(t, m, llm, false)
	wantFields(t, got["llm.request"], map[string]string{
		"prompt": `[{"role":"system","content":"Be brief."},{"role":"user","content":"Weather in Paris?"}]`,
	})
	wantFields(t, got["llm.response"], map[string]string{
		"response":       `[{"role":"assistant","finish_reason":"tool_calls","tool_calls":[{"name":"get_weather","arguments":{"city":"Paris"}}]},{"role":"assistant","content":"Sunny","finish_reason":"stop"}]`,
		"finish_reasons": `["tool_calls","stop"]`,
		"input_tokens":   `31`,
		"output_tokens":  `9`,
	})
}

// TestTraceloopEntities unwraps what OpenLLMetry's decorators and its
// LangChain handlers wrap tool arguments and results in, and types its
// spans by traceloop.span.kind.
func TestTraceloopEntities(t *testing.T) {
	m := newTestMapper(t)
	for _, tc := range []struct {
		name    string
		attrs   []spans.Attr
		typ     SpanType
		in, out string
	}{
		{"decorator, one argument", []spans.Attr{str(keyTraceloopKind, "tool"), str(keyTraceloopEntityName, "get_weather"),
			str(keyTraceloopEntityInput, `{"args":["{\"city\":\"Paris\"}"],"kwargs":{}}`), str(keyTraceloopEntityOut, `{"temp_c":18}`)},
			TypeTool, `{"city":"Paris"}`, `{"temp_c":18}`},
		{"decorator, keyword arguments; string result", []spans.Attr{str(keyTraceloopKind, "tool"),
			str(keyTraceloopEntityInput, `{"args":[],"kwargs":{"city":"Paris"}}`), str(keyTraceloopEntityOut, `"sunny"`)},
			TypeTool, `{"city":"Paris"}`, `"sunny"`},
		{"Python LangChain handler, in gen_ai.tool.call.* too", []spans.Attr{str(keyOperationName, "execute_tool"), str(keyTraceloopKind, "tool"),
			str("gen_ai.tool.call.arguments", `{"input_str":"{'city': 'Paris'}","tags":[],"metadata":{},"inputs":{"city":"Paris"},"kwargs":{}}`),
			str("gen_ai.tool.call.result", `{"output":{"lc":1,"type":"constructor","id":["langchain","schema","messages","ToolMessage"],"kwargs":{"content":"18 C","tool_call_id":"c1"}},"kwargs":{}}`)},
			TypeTool, `{"city":"Paris"}`, `"18 C"`},
		{"not a wrapper: as it is", []spans.Attr{str(keyTraceloopKind, "tool"),
			str(keyTraceloopEntityInput, `{"city":"Paris"}`), str(keyTraceloopEntityOut, `plain text`)},
			TypeTool, `{"city":"Paris"}`, `"plain text"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := span("tool", tc.attrs)
			if got := Classify(s); got != tc.typ {
				t.Fatalf("typed %s, want %s", got, tc.typ)
			}
			got := payloads(t, m, s, false)
			wantFields(t, got["tool.called"], map[string]string{"input": tc.in})
			wantFields(t, got["tool.returned"], map[string]string{"output": tc.out})
		})
	}
	for kind, want := range map[string]SpanType{"workflow": TypeStep, "task": TypeStep, "agent": TypeAgent, "tool": TypeTool} {
		if got := Classify(span("x", []spans.Attr{str(keyTraceloopKind, kind)})); got != want {
			t.Errorf("traceloop.span.kind %s typed %s, want %s", kind, got, want)
		}
	}

	root := span("travel_request.workflow", []spans.Attr{str(keyTraceloopKind, "workflow"),
		str(keyTraceloopEntityInput, `{"args":["Weather?"],"kwargs":{}}`), str(keyTraceloopEntityOut, `"Sunny."`)})
	var in, out map[string]json.RawMessage
	if err := json.Unmarshal(m.StartRequest(root).Input, &in); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(m.CloseRequest(root, &Summary{}).Output, &out); err != nil {
		t.Fatal(err)
	}
	wantFields(t, in, map[string]string{"input": `"Weather?"`})
	wantFields(t, out, map[string]string{"output": `"Sunny."`})
	var attrs map[string]json.RawMessage
	_ = json.Unmarshal(in["attributes"], &attrs)
	if _, dup := attrs[keyTraceloopEntityInput]; dup {
		t.Error("run input repeats traceloop.entity.input among its attributes")
	}
}

// TestSmolagentsToolArgs unwraps the bound call smolagents' tools get in
// input.value; other input.value objects stay as they are.
func TestSmolagentsToolArgs(t *testing.T) {
	m := newTestMapper(t)
	for in, want := range map[string]string{
		`{"args":[],"sanitize_inputs_outputs":true,"kwargs":{"city":"Paris"}}`: `{"city":"Paris"}`,
		`{"args":["18 C"],"sanitize_inputs_outputs":false,"kwargs":{}}`:        `"18 C"`,
		`{"args":["a","b"],"sanitize_inputs_outputs":false,"kwargs":{}}`:       `{"args":["a","b"],"sanitize_inputs_outputs":false,"kwargs":{}}`,
		`{"args":[],"kwargs":{"city":"Paris"},"other":1}`:                      `{"args":[],"kwargs":{"city":"Paris"},"other":1}`,
	} {
		s := span("WeatherTool", []spans.Attr{str(keyOpenInferenceKind, "TOOL"), str("input.value", in)})
		got := payloads(t, m, s, false)
		wantFields(t, got["tool.called"], map[string]string{"input": want})
	}
}
