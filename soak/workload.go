package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
)

// A run is a root invoke_agent span and spans-1 children, one after the
// other: LLM calls, tool calls (with a span event) and plain steps, in turn.
// Timestamps are set explicitly, a few microseconds apart, so the expected
// timeline has one order only.

type childKind int

const (
	llmChild childKind = iota
	toolChild
	stepChild
)

func kindOf(child int) childKind { return childKind(child % 3) }

// eventTypes is what the mapping makes of a child of kind k, in order.
func (k childKind) eventTypes() []string {
	switch k {
	case llmChild:
		return []string{"llm.request", "llm.response"}
	case toolChild:
		return []string{"tool.called", "cache.miss", "tool.returned"}
	}
	return []string{"step.started", "step.completed"}
}

// traceID is run's trace id within a row: the row's prefix, then the run's
// number. The verifier derives the same ids.
func traceID(prefix [8]byte, run int) trace.TraceID {
	var id trace.TraceID
	copy(id[:8], prefix[:])
	binary.BigEndian.PutUint64(id[8:], uint64(run)+1)
	return id
}

// spanID numbers a run's spans: the root is 1, child c is c+2.
func spanID(n int) trace.SpanID {
	var id trace.SpanID
	binary.BigEndian.PutUint64(id[:], uint64(n))
	return id
}

func childSpanID(child int) trace.SpanID { return spanID(child + 2) }

// expectedEvent is one event of a run's expected timeline.
type expectedEvent struct {
	spanID, typ string
}

// timeline is the expected timeline of a run of spans spans.
func timeline(spans int) []expectedEvent {
	var out []expectedEvent
	for c := range spans - 1 {
		for _, typ := range kindOf(c).eventTypes() {
			out = append(out, expectedEvent{childSpanID(c).String(), typ})
		}
	}
	return out
}

// presetIDs gives each span the ids its context carries, so that runs have
// trace ids the verifier knows.
type presetIDs struct{}

type idsKey struct{}

type spanIDs struct {
	trace trace.TraceID
	span  trace.SpanID
}

func withIDs(ctx context.Context, tid trace.TraceID, sid trace.SpanID) context.Context {
	return context.WithValue(ctx, idsKey{}, spanIDs{tid, sid})
}

func (presetIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	ids := ctx.Value(idsKey{}).(spanIDs)
	return ids.trace, ids.span
}

func (presetIDs) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	return ctx.Value(idsKey{}).(spanIDs).span
}

func messages(role, text string) string {
	b, _ := json.Marshal([]map[string]any{{"role": role, "parts": []map[string]string{{"type": "text", "content": text}}}})
	return string(b)
}

// emitRun traces one agent run with GenAI attributes, as an instrumented
// agent would.
func emitRun(ctx context.Context, tracer trace.Tracer, tid trace.TraceID, spans int) {
	t0 := time.Now()
	at := func(us int) time.Time { return t0.Add(time.Duration(us) * time.Microsecond) }
	question := "What is the weather in Paris, and should I take an umbrella?"
	ctx, root := tracer.Start(withIDs(ctx, tid, spanID(1)), "invoke_agent travel-agent", trace.WithTimestamp(t0),
		trace.WithAttributes(semconv.GenAIOperationNameInvokeAgent, semconv.GenAIAgentName("travel-agent"),
			semconv.GenAIInputMessagesKey.String(messages("user", question))))
	for c := range spans - 1 {
		start := at(10*c + 1)
		cctx := withIDs(ctx, tid, childSpanID(c))
		switch kindOf(c) {
		case llmChild:
			_, s := tracer.Start(cctx, "chat gpt-4o", trace.WithTimestamp(start), trace.WithSpanKind(trace.SpanKindClient),
				trace.WithAttributes(semconv.GenAIOperationNameChat, semconv.GenAIProviderNameOpenAI,
					semconv.GenAIRequestModel("gpt-4o"), semconv.GenAIInputMessagesKey.String(messages("user", question))))
			s.SetAttributes(semconv.GenAIResponseModel("gpt-4o-2024-08-06"),
				semconv.GenAIOutputMessagesKey.String(messages("assistant", "Let me check the forecast.")),
				semconv.GenAIUsageInputTokens(120), semconv.GenAIUsageOutputTokens(42),
				semconv.GenAIResponseFinishReasons("tool_calls"))
			s.End(trace.WithTimestamp(start.Add(5 * time.Microsecond)))
		case toolChild:
			_, s := tracer.Start(cctx, "execute_tool get_weather", trace.WithTimestamp(start),
				trace.WithAttributes(semconv.GenAIOperationNameExecuteTool, semconv.GenAIToolName("get_weather"),
					semconv.GenAIToolCallID(fmt.Sprintf("call_%d", c)),
					semconv.GenAIToolCallArgumentsKey.String(`{"city":"Paris"}`)))
			s.AddEvent("cache.miss", trace.WithTimestamp(start.Add(2*time.Microsecond)),
				trace.WithAttributes(attribute.String("cache.key", "weather:paris")))
			s.SetAttributes(semconv.GenAIToolCallResultKey.String(`{"temp_c":14,"sky":"rain"}`))
			s.End(trace.WithTimestamp(start.Add(5 * time.Microsecond)))
		case stepChild:
			_, s := tracer.Start(cctx, "plan next step", trace.WithTimestamp(start),
				trace.WithAttributes(attribute.Int("step.index", c)))
			s.End(trace.WithTimestamp(start.Add(5 * time.Microsecond)))
		}
	}
	root.SetAttributes(semconv.GenAIOutputMessagesKey.String(messages("assistant", "Rain in Paris: take an umbrella.")))
	root.SetStatus(codes.Ok, "")
	root.End(trace.WithTimestamp(at(10 * spans)))
}
