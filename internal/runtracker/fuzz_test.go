package runtracker_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/localserver"
	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// FuzzMapping feeds arbitrary names, attributes and events through the
// mapping and tracker. It must never panic, and every request it produces
// must be one the strict AgentOS API accepts.
func FuzzMapping(f *testing.F) {
	f.Add("invoke_agent", "gen_ai.operation.name", "chat", int64(3), 1.5, []byte{0xff, 0}, "exception", "error", true, uint8(3))
	f.Add("", "", "", int64(0), math.NaN(), []byte(nil), "", "", false, uint8(0))
	f.Add("\xff\xfe", "agentos.run.input", `{"a":[1,2,{"b":"\u0000"}]}`, int64(-1), math.Inf(1), []byte("x"), "\x00", "warn", true, uint8(1))
	f.Add("ai.generateText.doGenerate", "gen_ai.input.messages", `[{"role":"user"}`, int64(math.MaxInt64), math.Copysign(0, -1), []byte{}, "span_id", "bogus", false, uint8(2))
	f.Add("x", "agentos.run.output", `{"summary":1}`, int64(1), 1e308, []byte{1}, "exception", "debug", true, uint8(4))
	f.Add("x", "agentos.agent_id", "not-a-uuid", int64(1), 0.1, []byte{1}, "e", "info", false, uint8(5))
	f.Add("x", "agentos.trigger_type", "cron", int64(1), 0.1, []byte{1}, "e", "info", false, uint8(6))
	// GenAI content in span events (docs/mapping.md).
	f.Add("chat", "content", `[{"text":"hi"}]`, int64(2), 0.5, []byte{1}, "gen_ai.user.message", "info", false, uint8(0))
	f.Add("execute_tool", "message", `{"role":"assistant"}`, int64(2), 0.5, []byte{1}, "gen_ai.choice", "info", false, uint8(1))
	f.Add("chat", "gen_ai.output.messages", `[{"parts":[{"type":"tool_call_response","response":"{\"a\":"}],"finish_reason":7}]`, int64(2), 0.5, []byte{1}, "gen_ai.client.inference.operation.details", "info", true, uint8(0))
	f.Fuzz(func(t *testing.T, name, key, str string, n int64, fl float64, raw []byte, evName, level string, failed bool, shape uint8) {
		value := []spans.Value{
			spans.StringValue(str), spans.IntValue(n), spans.DoubleValue(fl), spans.BytesValue(raw),
			spans.SliceValue([]spans.Value{spans.StringValue(str), spans.DoubleValue(fl)}),
			spans.MapValue([]spans.Attr{{Key: key, Value: spans.StringValue(str)}, {Key: str, Value: spans.BytesValue(raw)}}),
			spans.BoolValue(failed),
		}[int(shape)%7]
		attrs := []spans.Attr{
			{Key: key, Value: value},
			{Key: "gen_ai.operation.name", Value: spans.StringValue([]string{"chat", "execute_tool", "invoke_agent", str}[int(shape)%4])},
			{Key: "gen_ai.usage.input_tokens", Value: spans.DoubleValue(fl)},
			{Key: str, Value: spans.StringValue(name)},
		}
		event := spans.Event{Name: evName, Time: t0.Add(time.Duration(n % int64(time.Hour))), Attrs: []spans.Attr{
			{Key: "agentos.level", Value: spans.StringValue(level)}, {Key: key, Value: value},
		}}
		var status spans.StatusCode
		if failed {
			status = spans.StatusError
		}
		tid := spans.TraceID{1}
		root := spans.Span{TraceID: tid, SpanID: spans.SpanID{1}, Name: name, StartTime: t0, EndTime: t0.Add(time.Second),
			StatusCode: status, StatusMessage: str, Attrs: attrs, Events: []spans.Event{event},
			Resource: &spans.Resource{Attrs: []spans.Attr{{Key: key, Value: value}}}}
		child := root
		child.SpanID, child.ParentSpanID = spans.SpanID{2}, root.SpanID
		child.StartTime = t0.Add(-time.Duration(n % int64(time.Minute))) // may precede its parent
		// The same event as a correlated log record too (a GenAI one, or
		// as mapping.LogEvent leaves it).
		if le, ok := mapping.LogEvent(evName, event.Time, event.Attrs, value); ok {
			child.AppendLogs(le)
		}

		m, err := mapping.New(mapping.Options{DefaultAgentID: goldenAgent, MaxStringLen: 1 + int(shape)*10,
			Tasks: shape%2 == 0, Redaction: mapping.Redaction{Names: []string{str}}})
		if err != nil {
			t.Fatal(err)
		}
		tk, _ := runtracker.New(m, runtracker.Options{})
		ops := tk.Add(t0, []spans.Span{child, root})
		ops = append(ops, tk.Shutdown(t0)...)
		for _, op := range ops {
			if err := validate(op); err != nil {
				t.Fatalf("%s would be rejected: %v", op.Kind, err)
			}
		}
	})
}

// validate encodes op as the client would and checks the body with the
// strict local server's own decoder and rules.
func validate(op runtracker.Op) error {
	const runID = "11111111-1111-4111-8111-111111111111"
	var path string
	var body any
	switch op.Kind {
	case runtracker.OpStart:
		path, body = agentosapi.PathRunStart, &op.Start
	case runtracker.OpEvents:
		path, body = agentosapi.PathEvents, &agentosapi.EventsRequest{RunID: runID, Events: op.Events}
	case runtracker.OpTask:
		path, body = agentosapi.PathTasks, &agentosapi.TaskRequest{RunID: runID, Task: op.Task}
	case runtracker.OpClose:
		if op.Close.Fail {
			path, body = agentosapi.PathRunFail, &agentosapi.FailRunRequest{RunID: runID, ErrorMessage: op.Close.ErrorMessage, ErrorDetail: op.Close.ErrorDetail}
		} else {
			path, body = agentosapi.PathRunComplete, &agentosapi.CompleteRunRequest{RunID: runID, Output: op.Close.Output}
		}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	_, err = localserver.Decode(path, raw)
	return err
}
