package sdkbridge_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
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
	queueing(b, sp, "starts", func() { sp.OnStart(ctx, rw) })
}

// queueing runs call in b's loop with sp's worker held, draining the queue
// outside the timer every 4096 calls, and fails if anything was dropped:
// the measure is of queueing alone.
func queueing(b *testing.B, sp *sdkbridge.SpanProcessor, what string, call func()) {
	b.Helper()
	ctx := context.Background()
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
		call()
	}
	release()
	if d := sp.DroppedSpans(); d != 0 {
		b.Fatalf("%d %s dropped: the measure is not of queueing", d, what)
	}
}

// keepEnded keeps the last span that ended.
type keepEnded struct {
	sdktrace.SpanProcessor
	last sdktrace.ReadOnlySpan
}

func (k *keepEnded) OnEnd(s sdktrace.ReadOnlySpan) { k.last = s }

// BenchmarkOnEnd is what OnEnd costs the instrumented program: it
// estimates the ended span's size and queues it. As in BenchmarkOnStart,
// the worker is held while a round is queued. The span is an LLM call with
// a prompt of 100 B or 50 KB, an answer, token counts and a span event.
func BenchmarkOnEnd(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":{"run_id":"5b3d1f0e-8a2c-4e6b-9d7f-1a2b3c4d5e6f"},"error":null}`))
	}))
	defer srv.Close()
	ctx := context.Background()
	for _, prompt := range []int{100, 50 << 10} {
		b.Run(fmt.Sprintf("prompt=%dB", prompt), func(b *testing.B) {
			sp, err := sdkbridge.NewSpanProcessor(ctx, bridgeOptions(srv.URL, sdkbridge.WithQueueSize(1<<20),
				sdkbridge.WithLimits(sdkbridge.Limits{MaxBufferedBytes: 8 << 30}))...)
			if err != nil {
				b.Fatal(err)
			}
			defer sp.Shutdown(ctx)
			// A provider without the processor makes the span, so that only
			// OnEnd is measured.
			keep := &keepEnded{SpanProcessor: sdktrace.NewSimpleSpanProcessor(nil)}
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(keep))
			rctx, root := tp.Tracer("bench").Start(ctx, "invoke_agent a")
			sp.OnStart(ctx, root.(sdktrace.ReadWriteSpan))
			_, s := tp.Tracer("bench").Start(rctx, "chat m", trace.WithAttributes(semconv.GenAIOperationNameChat,
				semconv.GenAIRequestModel("m"), semconv.GenAIInputMessagesKey.String(messagesOf("user", strings.Repeat("p", prompt)))))
			s.SetAttributes(semconv.GenAIOutputMessagesKey.String(messagesOf("assistant", "ok")),
				semconv.GenAIUsageInputTokens(120), semconv.GenAIUsageOutputTokens(42),
				semconv.GenAIResponseFinishReasons("stop"))
			s.AddEvent("cache.miss", trace.WithAttributes(attribute.String("key", "k")))
			s.End()
			ended := keep.last
			queueing(b, sp, "ends", func() { sp.OnEnd(ended) })
		})
	}
}
