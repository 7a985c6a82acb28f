package runtracker_test

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// genAIBatch is 512 ended spans: 64 runs of a root, LLM calls and tools.
func genAIBatch(seq uint64) []spans.Span {
	out := make([]spans.Span, 0, 512)
	for r := range uint64(64) {
		var tid spans.TraceID
		binary.BigEndian.PutUint64(tid[:8], seq)
		binary.BigEndian.PutUint64(tid[8:], r+1)
		root := spans.SpanID{0xff}
		for c := range uint64(7) {
			var sid spans.SpanID
			binary.BigEndian.PutUint64(sid[:], c+1)
			op, name := "chat", "chat gpt-4o"
			if c%2 == 1 {
				op, name = "execute_tool", "execute_tool search"
			}
			start := t0.Add(time.Duration(c) * time.Millisecond)
			out = append(out, spans.Span{TraceID: tid, SpanID: sid, ParentSpanID: root, Name: name,
				StartTime: start, EndTime: start.Add(time.Millisecond),
				Attrs: []spans.Attr{
					{Key: "gen_ai.operation.name", Value: spans.StringValue(op)},
					{Key: "gen_ai.request.model", Value: spans.StringValue("gpt-4o")},
					{Key: "gen_ai.tool.name", Value: spans.StringValue("search")},
					{Key: "gen_ai.usage.input_tokens", Value: spans.IntValue(120)},
					{Key: "gen_ai.usage.output_tokens", Value: spans.IntValue(30)},
					{Key: "gen_ai.input.messages", Value: spans.StringValue(`[{"role":"user","parts":[{"type":"text","content":"hello"}]}]`)},
				},
				Events: []spans.Event{{Name: "cache.miss", Time: start, Attrs: []spans.Attr{{Key: "k", Value: spans.StringValue("v")}}}},
			})
		}
		out = append(out, spans.Span{TraceID: tid, SpanID: root, Name: "invoke_agent a", StartTime: t0, EndTime: t0.Add(10 * time.Millisecond),
			Attrs: []spans.Attr{{Key: "gen_ai.operation.name", Value: spans.StringValue("invoke_agent")}}})
	}
	return out
}

// BenchmarkTrackerMapping is the core's cost per span: tracking and
// mapping to requests, without I/O.
func BenchmarkTrackerMapping(b *testing.B) {
	m, _ := mapping.New(mapping.Options{DefaultAgentID: goldenAgent})
	tk, _ := runtracker.New(m, runtracker.Options{Grace: time.Nanosecond})
	now := t0
	b.ReportAllocs()
	var n int
	for i := 0; b.Loop(); i++ {
		batch := genAIBatch(uint64(i))
		n += len(batch)
		tk.Add(now, batch)
		now = now.Add(time.Second)
		tk.Tick(now)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/span")
}

// BenchmarkMemoryPerOpenRun is the heap the tracker holds per open run,
// beyond the span content it must keep (reported apart): a live run whose
// root started, one whose root and nine children started, and an exporter
// run of nine ended children held for their root.
func BenchmarkMemoryPerOpenRun(b *testing.B) {
	const runs = 10_000
	m, _ := mapping.New(mapping.Options{DefaultAgentID: goldenAgent})
	span := func(run, i int) spans.Span {
		var tid spans.TraceID
		binary.BigEndian.PutUint64(tid[8:], uint64(run+1))
		s := spans.Span{TraceID: tid, SpanID: spans.SpanID{1}, Name: "invoke_agent", StartTime: t0}
		if i > 0 {
			s.SpanID, s.ParentSpanID, s.Name = spans.SpanID{byte(i + 1)}, spans.SpanID{1}, "chat gpt-4o"
			s.Attrs = []spans.Attr{{Key: "gen_ai.operation.name", Value: spans.StringValue("chat")}}
			s.EndTime = t0.Add(time.Millisecond)
		}
		return s
	}
	for _, tc := range []struct {
		name  string
		spans int
		add   func(tk *runtracker.Tracker, s *spans.Span)
		ended bool
	}{
		{"live/root", 1, func(tk *runtracker.Tracker, s *spans.Span) { tk.Started(t0, s) }, false},
		{"live/root+9", 10, func(tk *runtracker.Tracker, s *spans.Span) { tk.Started(t0, s) }, false},
		{"exporter/9-held", 9, func(tk *runtracker.Tracker, s *spans.Span) { tk.Add(t0, []spans.Span{*s}) }, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			input := make([]spans.Span, 0, runs*tc.spans)
			content := 0
			for r := range runs {
				for i := range tc.spans {
					if tc.ended {
						i++ // children only
					}
					s := span(r, i)
					if !tc.ended {
						s.EndTime = time.Time{}
					}
					input = append(input, s)
					content += s.Size()
				}
			}
			var perRun float64
			for b.Loop() {
				tk, _ := runtracker.New(m, runtracker.Options{MaxOpenRuns: runs, MaxHeldSpans: runs * tc.spans})
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				for i := range input {
					tc.add(tk, &input[i])
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				perRun = float64(after.HeapAlloc-before.HeapAlloc) / runs
				runtime.KeepAlive(tk)
			}
			b.ReportMetric(perRun, "B/open-run")
			b.ReportMetric(float64(content)/runs, "content-B/open-run")
		})
	}
}

// BenchmarkHeldSubtree holds n spans under a parent that has not arrived
// while as many siblings of theirs resolve under the root, then lets the
// parent in: the cost per span must not grow with n.
func BenchmarkHeldSubtree(b *testing.B) {
	for _, n := range []int{100, 1000, 4000} {
		b.Run(fmt.Sprintf("held=%d", n), func(b *testing.B) {
			m, _ := mapping.New(mapping.Options{DefaultAgentID: goldenAgent})
			tid := spans.TraceID{1}
			root := spans.Span{TraceID: tid, SpanID: spans.SpanID{0xff}, Name: "agent", StartTime: t0, EndTime: t0.Add(time.Second)}
			missing := spans.SpanID{0xfe}
			span := func(i int, parent spans.SpanID) spans.Span {
				var sid spans.SpanID
				binary.BigEndian.PutUint64(sid[:], uint64(i+1))
				return spans.Span{TraceID: tid, SpanID: sid, ParentSpanID: parent, Name: "step", StartTime: t0, EndTime: t0.Add(time.Millisecond)}
			}
			for b.Loop() {
				tk, _ := runtracker.New(m, runtracker.Options{MaxSpansPerTrace: 4 * n})
				tk.Add(t0, []spans.Span{root})
				for i := range n {
					tk.Add(t0, []spans.Span{span(i, missing)})       // held: its parent is missing
					tk.Add(t0, []spans.Span{span(n+i, root.SpanID)}) // resolves at once
				}
				tk.Add(t0, []spans.Span{{TraceID: tid, SpanID: missing, ParentSpanID: root.SpanID, Name: "step", StartTime: t0, EndTime: t0}})
				tk.Shutdown(t0)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(2*n+2), "ns/span")
		})
	}
}

// BenchmarkTrackerLive is the live span processor's core cost per span:
// runs of 50 spans (a root, then chats and tool calls alternating) started
// and ended one by one, as the processor hands them over, without I/O.
func BenchmarkTrackerLive(b *testing.B) {
	m, _ := mapping.New(mapping.Options{DefaultAgentID: goldenAgent})
	tk, _ := runtracker.New(m, runtracker.Options{Grace: time.Nanosecond})
	in := `[{"role":"user","parts":[{"type":"text","content":"The weather in Paris is mild, with rain later."}]}]`
	out := `[{"role":"assistant","parts":[{"type":"text","content":"The weather in Paris is mild, with rain later."}]}]`
	chat := []spans.Attr{
		{Key: "gen_ai.operation.name", Value: spans.StringValue("chat")},
		{Key: "gen_ai.request.model", Value: spans.StringValue("gpt-4o")},
		{Key: "gen_ai.input.messages", Value: spans.StringValue(in)},
		{Key: "gen_ai.output.messages", Value: spans.StringValue(out)},
		{Key: "gen_ai.usage.input_tokens", Value: spans.IntValue(120)},
		{Key: "gen_ai.usage.output_tokens", Value: spans.IntValue(42)},
	}
	tool := []spans.Attr{
		{Key: "gen_ai.operation.name", Value: spans.StringValue("execute_tool")},
		{Key: "gen_ai.tool.name", Value: spans.StringValue("get_weather")},
		{Key: "gen_ai.tool.call.arguments", Value: spans.StringValue(`{"city":"Paris"}`)},
		{Key: "gen_ai.tool.call.result", Value: spans.StringValue(`{"temp_c":21}`)},
	}
	const spansPerRun = 50
	now := t0
	b.ReportAllocs()
	var n int
	for i := 0; b.Loop(); i++ {
		var tid spans.TraceID
		binary.BigEndian.PutUint64(tid[:8], uint64(i)+1)
		root := spans.Span{TraceID: tid, SpanID: spans.SpanID{0xff}, Name: "invoke_agent weather", StartTime: now,
			Attrs: []spans.Attr{{Key: "gen_ai.operation.name", Value: spans.StringValue("invoke_agent")}}}
		tk.Started(now, &root)
		for c := range uint64(spansPerRun - 1) {
			var sid spans.SpanID
			binary.BigEndian.PutUint64(sid[:], c+1)
			s := spans.Span{TraceID: tid, SpanID: sid, ParentSpanID: root.SpanID, Name: "chat gpt-4o", StartTime: now, Attrs: chat}
			if c%2 == 1 {
				s.Name, s.Attrs = "execute_tool get_weather", tool
			}
			tk.Started(now, &s)
			s.EndTime = now.Add(time.Millisecond)
			tk.Ended(now, &s)
		}
		root.EndTime = now.Add(time.Second)
		tk.Ended(now, &root)
		n += spansPerRun
		now = now.Add(time.Second)
		tk.Tick(now)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/span")
}
