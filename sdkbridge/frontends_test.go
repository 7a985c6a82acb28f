package sdkbridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

// adkLikeSession traces one session the way Google ADK Go's telemetry
// shapes it: an agent span, model calls, tool calls whose arguments and
// answers are set as the tool ends, a failing tool, parallel tool calls
// under a merged span that is typed only at its end, a sub-agent, and a
// model error on the last session.
func adkLikeSession(ctx context.Context, tr trace.Tracer, session int) {
	ctx, root := tr.Start(ctx, "invoke_agent weather_agent", trace.WithAttributes(
		attribute.String("gen_ai.operation.name", "invoke_agent"), attribute.String("gen_ai.agent.name", "weather_agent"),
		attribute.String("agentos.external_run_id", fmt.Sprintf("session-%d", session))))
	defer root.End()
	model := func(fail bool) {
		_, s := tr.Start(ctx, "generate_content gemini-2.5-flash", trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "generate_content"), attribute.String("gen_ai.request.model", "gemini-2.5-flash")))
		if fail {
			s.RecordError(errors.New("model overloaded"))
			s.SetStatus(codes.Error, "model overloaded")
		} else {
			s.SetAttributes(attribute.Int("gen_ai.usage.input_tokens", 40), attribute.Int("gen_ai.usage.output_tokens", 9))
		}
		s.End()
	}
	tool := func(ctx context.Context, name string, fail bool) {
		_, s := tr.Start(ctx, "execute_tool "+name, trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "execute_tool"), attribute.String("gen_ai.tool.name", name)))
		s.SetAttributes(attribute.String("gcp.vertex.agent.tool_call_args", `{"city":"Paris"}`))
		if fail {
			s.SetAttributes(attribute.String("gcp.vertex.agent.tool_response", `{"error":"unknown city"}`))
			s.SetStatus(codes.Error, "unknown city")
		} else {
			s.SetAttributes(attribute.String("gcp.vertex.agent.tool_response", `{"temp_c":21}`))
		}
		s.End()
	}
	model(false)
	tool(ctx, "get_weather", false)
	tool(ctx, "get_time", true)
	// Parallel tools: ADK wraps them in a span it types only at its end.
	mctx, merged := tr.Start(ctx, "execute_tool (merged)")
	var wg sync.WaitGroup
	for _, name := range []string{"get_weather", "get_forecast"} {
		wg.Go(func() { tool(mctx, name, false) })
	}
	wg.Wait()
	merged.SetAttributes(attribute.String("gen_ai.operation.name", "execute_tool"), attribute.String("gen_ai.tool.name", "(merged tools)"))
	merged.End()
	// A transfer to a sub-agent.
	sctx, sub := tr.Start(ctx, "invoke_agent forecast_agent", trace.WithAttributes(
		attribute.String("gen_ai.operation.name", "invoke_agent"), attribute.String("gen_ai.agent.name", "forecast_agent")))
	tool(sctx, "get_forecast", false)
	sub.End()
	fail := session == 3
	model(fail)
	if fail {
		root.SetStatus(codes.Error, "model overloaded")
	}
}

// The live processor and the exporter give the same runs for the same
// agent: the same statuses, the same event types as often, and each span's
// start and end events pair alike, although the processor reads starts as
// they happen and the exporter reads ended spans.
func TestFrontEndsAgreeOnAnADKLikeAgent(t *testing.T) {
	runs := map[string]map[string]runShape{}
	for _, frontEnd := range []string{"exporter", "processor"} {
		srv, url := newServer(t)
		var opt sdktrace.TracerProviderOption
		switch frontEnd {
		case "exporter":
			exp, err := sdkbridge.NewExporter(context.Background(), bridgeOptions(url)...)
			if err != nil {
				t.Fatal(err)
			}
			opt = sdktrace.WithBatcher(exp)
		case "processor":
			sp, err := sdkbridge.NewSpanProcessor(context.Background(), bridgeOptions(url)...)
			if err != nil {
				t.Fatal(err)
			}
			opt = sdktrace.WithSpanProcessor(sp)
		}
		tp := sdktrace.NewTracerProvider(opt)
		var sessions sync.WaitGroup
		for session := range 4 { // concurrent sessions
			sessions.Go(func() { adkLikeSession(context.Background(), tp.Tracer("adk"), session) })
		}
		sessions.Wait()
		if err := tp.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		runs[frontEnd] = shapes(t, srv.Runs())
	}
	if len(runs["exporter"]) != 4 {
		t.Fatalf("exporter: %d runs, want 4", len(runs["exporter"]))
	}
	for id, want := range runs["exporter"] {
		got, ok := runs["processor"][id]
		if !ok {
			t.Errorf("%s: no run through the processor", id)
			continue
		}
		if got.status != want.status || !slices.Equal(got.types, want.types) || !slices.Equal(got.pairs, want.pairs) {
			t.Errorf("%s differs:\nprocessor %s %v\n  %v\nexporter  %s %v\n  %v", id,
				got.status, got.types, got.pairs, want.status, want.types, want.pairs)
		}
	}
}

// runShape is what both front ends must agree on for a run.
type runShape struct {
	status string
	types  []string // event types, sorted
	pairs  []string // per span, its events' types in the order received, sorted
}

func shapes(t *testing.T, runs []localserver.Run) map[string]runShape {
	t.Helper()
	out := map[string]runShape{}
	for _, r := range runs {
		s := runShape{status: r.Status}
		bySpan := map[string][]string{}
		for _, e := range r.Events {
			s.types = append(s.types, e.Type)
			var p struct {
				SpanID string `json:"span_id"`
			}
			if err := json.Unmarshal(e.Payload, &p); err != nil {
				t.Fatal(err)
			}
			bySpan[p.SpanID] = append(bySpan[p.SpanID], e.Type)
		}
		for _, types := range bySpan {
			s.pairs = append(s.pairs, fmt.Sprint(types))
		}
		slices.Sort(s.types)
		slices.Sort(s.pairs)
		out[r.ExternalRunID] = s
	}
	return out
}
