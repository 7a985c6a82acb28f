package sdkbridge_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

// The one-line swap: NewExporter in place of the exporter in use today. In
// production only the environment (AGENTOS_API_KEY, AGENTOS_AGENT_ID) is
// needed; the options here point it at a local AgentOS.
func ExampleNewExporter() {
	agentos := localserver.New(localserver.Options{})
	agentos.RegisterAgent("3b241101-e2bb-4255-8caf-4136c566a962", "aos_agent_example")
	hs := httptest.NewServer(agentos)
	defer hs.Close()

	ctx := context.Background()
	exp, err := sdkbridge.NewExporter(ctx,
		sdkbridge.WithEndpoint(hs.URL),
		sdkbridge.WithAPIKey("aos_agent_example"),
		sdkbridge.WithAgentID("3b241101-e2bb-4255-8caf-4136c566a962"))
	if err != nil {
		panic(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))

	tracer := tp.Tracer("my-agent")
	ctx, run := tracer.Start(ctx, "invoke_agent planner", trace.WithAttributes(semconv.GenAIOperationNameInvokeAgent))
	_, llm := tracer.Start(ctx, "chat gpt-4o", trace.WithAttributes(semconv.GenAIOperationNameChat, semconv.GenAIRequestModel("gpt-4o")))
	llm.End()
	run.End()

	_ = tp.Shutdown(context.Background()) // flushes, closes every run
	for _, r := range agentos.Runs() {
		fmt.Println(r.Status)
		for _, e := range r.Events {
			fmt.Println(e.Type)
		}
	}
	// Output:
	// completed
	// llm.request
	// llm.response
}

// The live processor starts the run when the root span starts.
func ExampleNewSpanProcessor() {
	agentos := localserver.New(localserver.Options{})
	agentos.RegisterAgent("3b241101-e2bb-4255-8caf-4136c566a962", "aos_agent_example")
	hs := httptest.NewServer(agentos)
	defer hs.Close()

	ctx := context.Background()
	sp, err := sdkbridge.NewSpanProcessor(ctx,
		sdkbridge.WithEndpoint(hs.URL),
		sdkbridge.WithAPIKey("aos_agent_example"),
		sdkbridge.WithAgentID("3b241101-e2bb-4255-8caf-4136c566a962"))
	if err != nil {
		panic(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	_, run := tp.Tracer("my-agent").Start(ctx, "invoke_agent planner")

	_ = sp.ForceFlush(ctx)
	fmt.Println("while the agent works:", agentos.Runs()[0].Status)
	run.End()
	_ = tp.Shutdown(ctx)
	fmt.Println("after:", agentos.Runs()[0].Status)
	// Output:
	// while the agent works: running
	// after: completed
}
