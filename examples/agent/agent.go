package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
)

var questions = []string{
	"What's the weather in Paris?",
	"Convert 100 EUR to JPY and tell me the weather in Tokyo.",
	"Book me a flight to the Moon.",
}

func agentResource() *resource.Resource {
	return resource.NewSchemaless(semconv.ServiceName("travel-agent"))
}

// agent answers questions with a simulated model and tools, instrumented
// with the GenAI semantic conventions.
type agent struct {
	tracer trace.Tracer
	tools  map[string]func(args map[string]string) (string, error)
}

func newAgent(t trace.Tracer) *agent {
	return &agent{tracer: t, tools: map[string]func(map[string]string) (string, error){
		"get_weather": func(a map[string]string) (string, error) {
			return fmt.Sprintf(`{"city":%q,"temp_c":21,"sky":"sunny"}`, a["city"]), nil
		},
		"convert_currency": func(a map[string]string) (string, error) {
			return `{"amount":16250,"currency":"JPY"}`, nil
		},
		"book_flight": func(a map[string]string) (string, error) {
			return "", fmt.Errorf("no flights to %s", a["to"])
		},
	}}
}

func messages(role, text string) string {
	b, _ := json.Marshal([]map[string]any{{"role": role, "parts": []map[string]string{{"type": "text", "content": text}}}})
	return string(b)
}

// Invoke runs one agent turn: a root invoke_agent span with chat and
// execute_tool children.
func (a *agent) Invoke(ctx context.Context, question string) (answer string, err error) {
	ctx, span := a.tracer.Start(ctx, "invoke_agent travel-agent", trace.WithAttributes(
		semconv.GenAIOperationNameInvokeAgent,
		semconv.GenAIAgentName("travel-agent"),
		semconv.GenAIInputMessagesKey.String(messages("user", question)),
	))
	defer func() {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		} else {
			span.SetAttributes(semconv.GenAIOutputMessagesKey.String(messages("assistant", answer)))
		}
		span.End()
	}()

	calls := a.chat(ctx, question, nil)
	var results []string
	for _, c := range calls {
		out, err := a.callTool(ctx, c)
		if err != nil {
			return "", fmt.Errorf("tool %s: %w", c.name, err)
		}
		results = append(results, out)
	}
	a.chat(ctx, question, results)
	return summarize(question, results), nil
}

type toolCall struct {
	id, name string
	args     map[string]string
}

// chat simulates an LLM call: the first turn picks tools, the second answers.
func (a *agent) chat(ctx context.Context, question string, toolResults []string) []toolCall {
	_, span := a.tracer.Start(ctx, "chat gpt-4o", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		semconv.GenAIOperationNameChat,
		semconv.GenAIProviderNameOpenAI,
		semconv.GenAIRequestModel("gpt-4o"),
		semconv.GenAIInputMessagesKey.String(messages("user", question)),
	))
	defer span.End()
	think(40 * time.Millisecond)
	var calls []toolCall
	q := strings.ToLower(question)
	if toolResults == nil {
		if strings.Contains(q, "weather") {
			city := "Paris"
			if strings.Contains(q, "tokyo") {
				city = "Tokyo"
			}
			calls = append(calls, toolCall{"call_w", "get_weather", map[string]string{"city": city}})
		}
		if strings.Contains(q, "convert") {
			calls = append(calls, toolCall{"call_c", "convert_currency", map[string]string{"amount": "100", "from": "EUR", "to": "JPY"}})
		}
		if strings.Contains(q, "flight") {
			calls = append(calls, toolCall{"call_f", "book_flight", map[string]string{"to": "the Moon"}})
		}
	}
	reply := "Here is what I found."
	finish := "stop"
	if len(calls) > 0 {
		finish = "tool_calls"
		reply = ""
	}
	span.SetAttributes(
		semconv.GenAIResponseModel("gpt-4o-2024-08-06"),
		semconv.GenAIOutputMessagesKey.String(messages("assistant", reply)),
		semconv.GenAIUsageInputTokens(40+10*len(toolResults)+len(question)/4),
		semconv.GenAIUsageOutputTokens(12+8*len(calls)),
		semconv.GenAIResponseFinishReasons(finish),
	)
	return calls
}

func (a *agent) callTool(ctx context.Context, c toolCall) (string, error) {
	args, _ := json.Marshal(c.args)
	_, span := a.tracer.Start(ctx, "execute_tool "+c.name, trace.WithAttributes(
		semconv.GenAIOperationNameExecuteTool,
		semconv.GenAIToolName(c.name),
		semconv.GenAIToolCallID(c.id),
		semconv.GenAIToolCallArgumentsKey.String(string(args)),
	))
	defer span.End()
	span.AddEvent("cache.miss", trace.WithAttributes(attribute.String("cache.key", c.name+":"+string(args))))
	think(15 * time.Millisecond)
	out, err := a.tools[c.name](c.args)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return "", err
	}
	span.SetAttributes(semconv.GenAIToolCallResultKey.String(out))
	return out, nil
}

// think stands in for the latency of a model or tool call.
func think(d time.Duration) { time.Sleep(d/2 + time.Duration(rand.Int64N(int64(d)))) }

func summarize(_ string, results []string) string {
	if len(results) == 0 {
		return "I could not find anything."
	}
	return fmt.Sprintf("Answered with %d tool result(s).", len(results))
}
