package sdkbridge_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

// BenchmarkOnStart is what OnStart costs the instrumented program: it copies
// what the start event needs and queues it. The worker is held while a
// round of starts is queued, then drains them outside the timer, so the
// measure is of queueing (not of dropping, nor of competing with the worker
// for the CPU).
func BenchmarkOnStart(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":{"run_id":"5b3d1f0e-8a2c-4e6b-9d7f-1a2b3c4d5e6f"},"error":null}`))
	}))
	defer srv.Close()
	ctx := context.Background()
	sp, err := sdkbridge.NewSpanProcessor(ctx, bridgeOptions(srv.URL, sdkbridge.WithQueueSize(1<<20))...)
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Shutdown(ctx)
	// A provider without the processor makes the spans, so that only
	// OnStart is measured.
	tp := sdktrace.NewTracerProvider()
	rctx, root := tp.Tracer("bench").Start(ctx, "invoke_agent a")
	sp.OnStart(ctx, root.(sdktrace.ReadWriteSpan))
	_, s := tp.Tracer("bench").Start(rctx, "chat m", trace.WithAttributes(semconv.GenAIOperationNameChat,
		semconv.GenAIRequestModel("m"), semconv.GenAIUsageInputTokens(1)))
	rw := s.(sdktrace.ReadWriteSpan)
	const round = 4096
	release := sdkbridge.PauseWorker(sp)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%round == round-1 {
			b.StopTimer()
			release()
			if err := sp.ForceFlush(ctx); err != nil {
				b.Fatal(err)
			}
			release = sdkbridge.PauseWorker(sp)
			b.StartTimer()
		}
		sp.OnStart(ctx, rw)
	}
	release()
	if d := sp.DroppedSpans(); d != 0 {
		b.Fatalf("%d starts dropped: the measure is not of queueing", d)
	}
}
