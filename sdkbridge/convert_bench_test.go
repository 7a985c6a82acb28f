package sdkbridge

import (
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// genAIStubs is a run as the batch processor hands it over: a root and
// seven LLM and tool spans with GenAI attributes and a span event each.
func genAIStubs() []sdktrace.ReadOnlySpan {
	res := resource.NewSchemaless(attribute.String("service.name", "agent"))
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tid := trace.TraceID{1}
	root := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{0xff}, TraceFlags: trace.FlagsSampled})
	var stubs tracetest.SpanStubs
	for c := range 7 {
		op := "chat"
		if c%2 == 1 {
			op = "execute_tool"
		}
		start := t0.Add(time.Duration(c) * time.Millisecond)
		stubs = append(stubs, tracetest.SpanStub{
			Name:        op + " x",
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{byte(c + 1)}, TraceFlags: trace.FlagsSampled}),
			Parent:      root,
			StartTime:   start, EndTime: start.Add(time.Millisecond),
			Attributes: []attribute.KeyValue{
				attribute.String("gen_ai.operation.name", op),
				attribute.String("gen_ai.request.model", "gpt-4o"),
				attribute.String("gen_ai.tool.name", "search"),
				attribute.Int("gen_ai.usage.input_tokens", 120),
				attribute.Int("gen_ai.usage.output_tokens", 30),
				attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop"}),
				attribute.String("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"hello"}]}]`),
			},
			Events:   []sdktrace.Event{{Name: "cache.miss", Time: start, Attributes: []attribute.KeyValue{attribute.String("k", "v")}}},
			Status:   sdktrace.Status{Code: codes.Ok},
			Resource: res,
		})
	}
	stubs = append(stubs, tracetest.SpanStub{Name: "invoke_agent a", SpanContext: root, StartTime: t0, EndTime: t0.Add(10 * time.Millisecond),
		Attributes: []attribute.KeyValue{attribute.String("gen_ai.operation.name", "invoke_agent")}, Resource: res})
	return stubs.Snapshots()
}

// BenchmarkConvert is what turning an SDK span into the core's span costs
// the exporter.
func BenchmarkConvert(b *testing.B) {
	ss := genAIStubs()
	c := newConverter()
	b.ReportAllocs()
	var n int
	for b.Loop() {
		for _, s := range ss {
			out := c.span(s)
			n += len(out.Attrs)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ss)), "ns/span")
	b.ReportMetric(float64(testing.AllocsPerRun(10, func() {
		for _, s := range ss {
			c.span(s)
		}
	}))/float64(len(ss)), "allocs/span")
}
