package sdkbridge_test

import (
	"context"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

// TestSelectedRootAfterMaxWaitKeepsItsRun: under a run selector, a root
// that ends after the maximum wait still makes its run, with the child that
// ended long before it. (It used to vanish: the children had started an
// unselected run that the root then took over.)
func TestSelectedRootAfterMaxWaitKeepsItsRun(t *testing.T) {
	srv, url := newServer(t)
	ctx := context.Background()
	const maxWait = 100 * time.Millisecond
	exp, err := sdkbridge.NewExporter(ctx, bridgeOptions(url,
		sdkbridge.WithRunSelector(sdkbridge.InvokeAgentRoots),
		sdkbridge.WithTiming(sdkbridge.Timing{MaxWait: maxWait, GracePeriod: 50 * time.Millisecond}))...)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tr := tp.Tracer("test")
	cctx, root := tr.Start(ctx, "invoke_agent slow", trace.WithAttributes(semconv.GenAIOperationNameInvokeAgent))
	_, child := tr.Start(cctx, "chat m", trace.WithAttributes(semconv.GenAIOperationNameChat, semconv.GenAIRequestModel("m")))
	child.End()
	// Past the maximum wait and the pipeline's ticks that expire it.
	time.Sleep(10*maxWait + time.Second)
	root.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	runs := srv.Runs()
	if len(runs) != 1 {
		t.Fatalf("got %d runs, want 1", len(runs))
	}
	r := runs[0]
	var types []string
	for _, e := range r.Events {
		types = append(types, e.Type)
	}
	if got := strings.Join(types, ","); r.Status != "completed" || got != "llm.request,llm.response" {
		t.Fatalf("run %s with events %s, want completed with the child's llm.request,llm.response", r.Status, got)
	}
}
