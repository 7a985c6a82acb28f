package runtracker_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// TestLiveContentEvents: live, a span's start goes out before its content
// events exist. They reach AgentOS once, in the end event (the run's
// close for the root), and never as generic events.
func TestLiveContentEvents(t *testing.T) {
	m, _ := mapping.New(mapping.Options{DefaultAgentID: goldenAgent})
	tk, _ := runtracker.New(m, runtracker.Options{Grace: time.Second})
	tid := spans.TraceID{7}
	op := func(v string) []spans.Attr {
		return []spans.Attr{{Key: "gen_ai.operation.name", Value: spans.StringValue(v)}}
	}
	ev := func(name, key, val string) spans.Event {
		return spans.Event{Name: name, Time: t0, Attrs: []spans.Attr{{Key: key, Value: spans.StringValue(val)}}}
	}
	root := spans.Span{TraceID: tid, SpanID: spans.SpanID{1}, Name: "invoke_agent a", StartTime: t0, Attrs: op("invoke_agent")}
	chat := spans.Span{TraceID: tid, SpanID: spans.SpanID{2}, ParentSpanID: root.SpanID, Name: "chat", StartTime: t0, Attrs: op("chat")}

	var ops []runtracker.Op
	ops = append(ops, tk.Started(t0, &root)...)
	ops = append(ops, tk.Started(t0, &chat)...)
	chat.EndTime = t0.Add(time.Millisecond)
	chat.Events = []spans.Event{ev("gen_ai.user.message", "content", "PROMPT"), ev("gen_ai.choice", "message", "ANSWER")}
	ops = append(ops, tk.Ended(chat.EndTime, &chat)...)
	root.EndTime = t0.Add(2 * time.Millisecond)
	root.Events = []spans.Event{ev("gen_ai.user.message", "content", "ROOTPROMPT"), ev("gen_ai.choice", "message", "ROOTANSWER")}
	ops = append(ops, tk.Ended(root.EndTime, &root)...)
	ops = append(ops, tk.Tick(root.EndTime.Add(2*time.Second))...)

	var all strings.Builder
	for _, o := range ops {
		b, _ := json.Marshal(o.Events)
		all.Write(b)
		for _, e := range o.Events {
			if strings.HasPrefix(e.Type, "gen_ai.") {
				t.Errorf("content event %s sent as a generic event", e.Type)
			}
			if e.Type == "llm.response" && !strings.Contains(string(e.Payload), `"prompt":[{"role":"user","content":"PROMPT"}]`) {
				t.Errorf("llm.response lacks the prompt only its events held: %s", e.Payload)
			}
		}
		if o.Kind == runtracker.OpClose {
			out := string(o.Close.Output)
			if !strings.Contains(out, `"input_messages":[{"role":"user","content":"ROOTPROMPT"}]`) || !strings.Contains(out, "ROOTANSWER") {
				t.Errorf("live close lacks the root's prompt or answer: %s", out)
			}
		}
	}
	if n := strings.Count(all.String(), "PROMPT\""); n != 1 {
		t.Errorf("the chat prompt was sent %d times, want once", n)
	}
}
