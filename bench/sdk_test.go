package bench

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

const (
	benchAgent = "3b241101-e2bb-4255-8caf-4136c566a962"
	benchKey   = "aos_agent_bench"
)

func bridgeOpts(url string) []sdkbridge.Option {
	return []sdkbridge.Option{
		sdkbridge.WithEndpoint(url), sdkbridge.WithAPIKey(benchKey), sdkbridge.WithAgentID(benchAgent),
		sdkbridge.WithLogger(slog.New(slog.DiscardHandler)),
	}
}

// BenchmarkProcessorOnStartOnEnd is the whole cost of tracing agent runs
// through a span processor: Start and End on the caller's goroutine, then
// everything they cause in the background (our conversion, mapping and
// delivery to AgentOS; the peer's export over otlptracehttp), up to
// Shutdown, which waits for it. Both queues are large enough that nothing
// is dropped; dropped/span says whether that held. ns/span is wall time,
// cpu-ns/span the CPU of the whole process.
func BenchmarkProcessorOnStartOnEnd(b *testing.B) {
	ctx := context.Background()
	const queue = 1 << 18
	run := func(b *testing.B, sp sdktrace.SpanProcessor) int {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
		tr := tp.Tracer("bench")
		attrs := trace.WithAttributes(semconv.GenAIOperationNameChat, semconv.GenAIRequestModel("gpt-4o"),
			semconv.GenAIUsageInputTokens(120), semconv.GenAIUsageOutputTokens(42))
		c := startCost()
		spans := 0
		for b.Loop() {
			rctx, root := tr.Start(ctx, "invoke_agent a", trace.WithAttributes(semconv.GenAIOperationNameInvokeAgent))
			for range 7 {
				_, s := tr.Start(rctx, "chat gpt-4o", attrs)
				s.End()
			}
			root.End()
			spans += 8
		}
		if err := tp.Shutdown(ctx); err != nil {
			b.Fatal(err)
		}
		c.reportWall(b, spans)
		return spans
	}
	b.Run("peer=batchspanprocessor", func(b *testing.B) {
		otlp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(otlpSink(b)+"/v1/traces"))
		if err != nil {
			b.Fatal(err)
		}
		exp := &countingExporter{SpanExporter: otlp}
		spans := run(b, sdktrace.NewBatchSpanProcessor(exp, sdktrace.WithMaxQueueSize(queue)))
		// Spans that never reached the exporter were dropped on a full queue.
		b.ReportMetric(float64(int64(spans)-exp.spans.Load())/float64(spans), "dropped/span")
	})
	b.Run("ours=liveprocessor", func(b *testing.B) {
		sp, err := sdkbridge.NewSpanProcessor(ctx, append(bridgeOpts(agentosSink(b)),
			sdkbridge.WithQueueSize(queue),
			// The queue's bytes count against the budget: room for the
			// items above, as the peer's queue has.
			sdkbridge.WithLimits(sdkbridge.Limits{MaxBufferedBytes: 1 << 30}),
			sdkbridge.WithTiming(sdkbridge.Timing{GracePeriod: time.Millisecond}))...)
		if err != nil {
			b.Fatal(err)
		}
		spans := run(b, sp)
		// Starts and ends dropped on a full queue, per span: at most 2.
		b.ReportMetric(float64(sp.DroppedSpans())/float64(spans), "dropped/span")
	})
}

// countingExporter counts the spans handed to the exporter it wraps.
type countingExporter struct {
	sdktrace.SpanExporter
	spans atomic.Int64
}

func (e *countingExporter) ExportSpans(ctx context.Context, ss []sdktrace.ReadOnlySpan) error {
	e.spans.Add(int64(len(ss)))
	return e.SpanExporter.ExportSpans(ctx, ss)
}
