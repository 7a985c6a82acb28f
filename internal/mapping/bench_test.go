package mapping

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// BenchmarkLLMSpanByPromptSize maps an LLM span whose prompt and response
// are JSON messages of a given size: the cost per span should grow with
// the bytes copied, not with repeated scans of them.
func BenchmarkLLMSpanByPromptSize(b *testing.B) {
	m, err := New(Options{DefaultAgentID: "00000000-0000-4000-8000-000000000001"})
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{100, 10_000} {
		text := strings.Repeat("lorem ipsum ", size/12+1)[:size]
		messages := fmt.Sprintf(`[{"role": "user", "parts": [{"type": "text", "content": %q}]}]`, text)
		t0 := time.Unix(1_700_000_000, 0)
		s := spans.Span{TraceID: spans.TraceID{1}, SpanID: spans.SpanID{2}, ParentSpanID: spans.SpanID{1},
			Name: "chat gpt-4o", StartTime: t0, EndTime: t0.Add(time.Second), Attrs: []spans.Attr{
				{Key: "gen_ai.operation.name", Value: spans.StringValue("chat")},
				{Key: "gen_ai.request.model", Value: spans.StringValue("gpt-4o")},
				{Key: "gen_ai.input.messages", Value: spans.StringValue(messages)},
				{Key: "gen_ai.output.messages", Value: spans.StringValue(messages)},
				{Key: "gen_ai.usage.input_tokens", Value: spans.IntValue(120)},
			}}
		b.Run(fmt.Sprintf("prompt=%dB", size), func(b *testing.B) {
			var dst []Event
			for b.Loop() {
				dst = m.AppendEvents(dst[:0], &s, 1, false)
			}
		})
	}
}

// BenchmarkLLMEnd is an LLM span's end event: after the fact (AddEnd) and
// live (AddLiveEnd), with its content in attributes, and in span events
// as Strands Agents records it. Live with attributes must cost what after
// the fact does: it probes the attributes only for spans with content
// events.
func BenchmarkLLMEnd(b *testing.B) {
	m, err := New(Options{DefaultAgentID: "00000000-0000-4000-8000-000000000001"})
	if err != nil {
		b.Fatal(err)
	}
	prompt := `[{"role":"user","content":"` + strings.Repeat("x", 2000) + `"}]`
	start := time.Unix(1, 0)
	attrSpan := spans.Span{Name: "chat", StartTime: start, EndTime: start.Add(time.Second), Attrs: []spans.Attr{
		{Key: "gen_ai.operation.name", Value: spans.StringValue("chat")},
		{Key: "gen_ai.input.messages", Value: spans.StringValue(prompt)},
		{Key: "gen_ai.output.messages", Value: spans.StringValue(prompt)},
	}}
	eventSpan := spans.Span{Name: "chat", StartTime: start, EndTime: start.Add(time.Second),
		Attrs: []spans.Attr{{Key: "gen_ai.operation.name", Value: spans.StringValue("chat")}},
		Events: []spans.Event{
			{Name: "gen_ai.user.message", Time: start, Attrs: []spans.Attr{{Key: "content", Value: spans.StringValue(prompt)}}},
			{Name: "gen_ai.choice", Time: start, Attrs: []spans.Attr{{Key: "message", Value: spans.StringValue(prompt)}, {Key: "finish_reason", Value: spans.StringValue("stop")}}},
		}}
	for _, tc := range []struct {
		name string
		s    *spans.Span
		live bool
	}{{"attributes", &attrSpan, false}, {"attributes/live", &attrSpan, true}, {"events", &eventSpan, false}, {"events/live", &eventSpan, true}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var tl Timeline
			for b.Loop() {
				if tc.live {
					m.AddLiveEnd(&tl, tc.s, 1, TypeLLM)
				} else {
					m.AddEnd(&tl, tc.s, 1, TypeLLM)
				}
				tl.Take()
			}
		})
	}
}
