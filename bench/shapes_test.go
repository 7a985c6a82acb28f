package bench

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
)

// shape is what one round of an interleaved benchmark sends: runs of
// spansPerRun spans (a root and its children), with prompts of about
// promptBytes in gen_ai.input.messages and gen_ai.output.messages.
type shape struct {
	spansPerRun int
	promptBytes int
}

// messagesJSON is a GenAI messages array of about size bytes.
func messagesJSON(role string, size int) string {
	const head, tail = `[{"role":"`, `","parts":[{"type":"text","content":"`
	fixed := len(head) + len(role) + len(tail) + len(`"}]}]`)
	text := strings.Repeat("The weather in Paris is mild, with rain later. ", size/47+1)[:max(size-fixed, 1)]
	return head + role + tail + text + `"}]}]`
}

// runStubs builds runs ended runs of sh: the root last, children
// alternating a chat (prompt and answer) and a tool call with a span event.
// seq makes the trace ids unique; without roots, the runs stay open.
func runStubs(seq uint64, runs int, sh shape, withRoots bool) tracetest.SpanStubs {
	in, out := messagesJSON("user", sh.promptBytes), messagesJSON("assistant", sh.promptBytes)
	stubs := make(tracetest.SpanStubs, 0, runs*sh.spansPerRun)
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for r := range uint64(runs) {
		root := rootContext(seq, int(r))
		tid := root.TraceID()
		for c := range uint64(sh.spansPerRun - 1) {
			var sid trace.SpanID
			binary.BigEndian.PutUint64(sid[:], c+1)
			start := t0.Add(time.Duration(c) * 10 * time.Millisecond)
			stub := tracetest.SpanStub{
				Name:        "chat gpt-4o",
				SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}),
				Parent:      root,
				SpanKind:    trace.SpanKindClient,
				StartTime:   start,
				EndTime:     start.Add(9 * time.Millisecond),
				Attributes: []attribute.KeyValue{
					semconv.GenAIOperationNameChat, semconv.GenAIProviderNameOpenAI,
					semconv.GenAIRequestModel("gpt-4o"), semconv.GenAIResponseModel("gpt-4o-2024-08-06"),
					semconv.GenAIInputMessagesKey.String(in), semconv.GenAIOutputMessagesKey.String(out),
					semconv.GenAIUsageInputTokens(120), semconv.GenAIUsageOutputTokens(42),
					semconv.GenAIResponseFinishReasons("stop"),
				},
			}
			if c%2 == 1 {
				stub.Name = "execute_tool get_weather"
				stub.SpanKind = trace.SpanKindInternal
				stub.Attributes = []attribute.KeyValue{
					semconv.GenAIOperationNameExecuteTool, semconv.GenAIToolName("get_weather"),
					semconv.GenAIToolCallID(fmt.Sprintf("call_%d", c)),
					semconv.GenAIToolCallArgumentsKey.String(`{"city":"Paris"}`),
					semconv.GenAIToolCallResultKey.String(`{"temp_c":21,"sky":"rain"}`),
				}
				stub.Events = []sdktrace.Event{{Name: "cache.miss", Time: start.Add(time.Millisecond),
					Attributes: []attribute.KeyValue{attribute.String("cache.key", "weather:paris")}}}
			}
			stubs = append(stubs, stub)
		}
		if !withRoots {
			continue
		}
		stubs = append(stubs, rootStub(root, sh, in))
	}
	return stubs
}

// rootContext is the root span of run r in round seq.
func rootContext(seq uint64, r int) trace.SpanContext {
	var tid trace.TraceID
	binary.BigEndian.PutUint64(tid[:8], seq+1)
	binary.BigEndian.PutUint64(tid[8:], uint64(r)+1)
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{0xff}, TraceFlags: trace.FlagsSampled})
}

// rootOf is the ended root span of run r in round seq.
func rootOf(seq uint64, r int, sh shape, in string) sdktrace.ReadOnlySpan {
	return tracetest.SpanStubs{rootStub(rootContext(seq, r), sh, in)}.Snapshots()[0]
}

func rootStub(root trace.SpanContext, sh shape, in string) tracetest.SpanStub {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	return tracetest.SpanStub{
		Name: "invoke_agent weather", SpanContext: root, StartTime: t0,
		EndTime:    t0.Add(time.Duration(sh.spansPerRun) * 10 * time.Millisecond),
		Attributes: []attribute.KeyValue{semconv.GenAIOperationNameInvokeAgent, semconv.GenAIAgentName("weather"), semconv.GenAIInputMessagesKey.String(in)},
		Status:     sdktrace.Status{Code: codes.Ok},
	}
}

// stubTraces is stubs as pdata, for the Collector exporters.
func stubTraces(stubs tracetest.SpanStubs) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "weather-agent")
	ss := rs.ScopeSpans().AppendEmpty().Spans()
	ss.EnsureCapacity(len(stubs))
	for _, st := range stubs {
		s := ss.AppendEmpty()
		s.SetTraceID(pcommon.TraceID(st.SpanContext.TraceID()))
		s.SetSpanID(pcommon.SpanID(st.SpanContext.SpanID()))
		if st.Parent.IsValid() {
			s.SetParentSpanID(pcommon.SpanID(st.Parent.SpanID()))
		}
		s.SetName(st.Name)
		s.SetKind(ptrace.SpanKind(st.SpanKind))
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(st.StartTime))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(st.EndTime))
		putAttrs(s.Attributes(), st.Attributes)
		for _, ev := range st.Events {
			e := s.Events().AppendEmpty()
			e.SetName(ev.Name)
			e.SetTimestamp(pcommon.NewTimestampFromTime(ev.Time))
			putAttrs(e.Attributes(), ev.Attributes)
		}
		if st.Status.Code == codes.Ok {
			s.Status().SetCode(ptrace.StatusCodeOk)
		}
	}
	return td
}

func putAttrs(m pcommon.Map, kvs []attribute.KeyValue) {
	for _, kv := range kvs {
		switch kv.Value.Type() {
		case attribute.INT64:
			m.PutInt(string(kv.Key), kv.Value.AsInt64())
		case attribute.STRINGSLICE:
			sl := m.PutEmptySlice(string(kv.Key))
			for _, v := range kv.Value.AsStringSlice() {
				sl.AppendEmpty().SetStr(v)
			}
		default:
			m.PutStr(string(kv.Key), kv.Value.Emit())
		}
	}
}
