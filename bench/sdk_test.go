package bench

import (
	"context"
	"log/slog"
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

// BenchmarkSDKExport exports identical 512-span batches: ours (ExportSpans
// then ForceFlush, so every run is started, filled and closed over HTTP)
// against otlptracehttp's ExportSpans to a discarding OTLP sink.
func BenchmarkSDKExport(b *testing.B) {
	ctx := context.Background()
	batches := make([][]sdktrace.ReadOnlySpan, 64)
	for i := range batches {
		batches[i] = genAIBatch(uint64(i))
	}
	b.Run("peer=otlptracehttp", func(b *testing.B) {
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(otlpSink(b)+"/v1/traces"))
		if err != nil {
			b.Fatal(err)
		}
		defer exp.Shutdown(ctx)
		c := startCost()
		spans := 0
		for i := 0; b.Loop(); i++ {
			if err := exp.ExportSpans(ctx, batches[i%len(batches)]); err != nil {
				b.Fatal(err)
			}
			spans += batchSize
		}
		c.report(b, spans)
	})
	b.Run("ours=agentos", func(b *testing.B) {
		exp, err := sdkbridge.NewExporter(ctx, bridgeOpts(agentosSink(b))...)
		if err != nil {
			b.Fatal(err)
		}
		defer exp.Shutdown(ctx)
		c := startCost()
		spans := 0
		for i := 0; b.Loop(); i++ {
			// Trace ids must be new each time: a closed run's spans are late.
			b.StopTimer()
			c.pause()
			batch := genAIBatch(uint64(1000 + i))
			c.resume()
			b.StartTimer()
			if err := exp.ExportSpans(ctx, batch); err != nil {
				b.Fatal(err)
			}
			if err := exp.ForceFlush(ctx); err != nil {
				b.Fatal(err)
			}
			spans += batchSize
		}
		c.report(b, spans)
	})
}

// BenchmarkProcessorOnStartOnEnd is what the instrumented program pays per
// span on its own goroutine: Start and End with our live processor against
// sdktrace's BatchSpanProcessor (over otlptracehttp).
func BenchmarkProcessorOnStartOnEnd(b *testing.B) {
	ctx := context.Background()
	run := func(b *testing.B, sp sdktrace.SpanProcessor) int {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
		defer tp.Shutdown(ctx)
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
		c.report(b, spans)
		return spans
	}
	b.Run("peer=batchspanprocessor", func(b *testing.B) {
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(otlpSink(b)+"/v1/traces"))
		if err != nil {
			b.Fatal(err)
		}
		_ = run(b, sdktrace.NewBatchSpanProcessor(exp))
	})
	b.Run("ours=liveprocessor", func(b *testing.B) {
		sp, err := sdkbridge.NewSpanProcessor(ctx, append(bridgeOpts(agentosSink(b)),
			sdkbridge.WithTiming(sdkbridge.Timing{GracePeriod: time.Millisecond}))...)
		if err != nil {
			b.Fatal(err)
		}
		spans := run(b, sp)
		// Starts and ends dropped on a full queue, per span: at most 2.
		b.ReportMetric(float64(sp.DroppedSpans())/float64(spans), "dropped/span")
	})
}
