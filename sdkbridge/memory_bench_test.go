package sdkbridge_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

// BenchmarkMemoryPerOpenRun is the heap held per open run of 10 spans (a
// root not ended yet, 9 children ended), on both paths, beside the span
// content the run must keep: the exporter holds the children until their
// root arrives, so their names and attributes are its content; the live
// processor has sent their events, so it must hold little more than the
// root's start. overhead-B/open-run is the heap beyond that content.
//
// It is the growth from 1,000 to 3,000 open runs, so that what does not
// grow with runs (pools) is left out (the live queue's spare chunks, whose
// number follows its peak, are dropped first), less what the same
// spans cost the program without the bridge. The server discards what it
// gets, in this process; four runs are delivered at once, so that the
// number of connections (each with its buffers) is the same at both sizes.
func BenchmarkMemoryPerOpenRun(b *testing.B) {
	const few, many = 1000, 3000
	prompt := fmt.Sprintf(`[{"role":"user","parts":[{"type":"text","content":%q}]}]`, strings.Repeat("x", 100))
	child := func(i int) (string, []attribute.KeyValue) {
		if i%2 == 1 {
			return "execute_tool get_weather", []attribute.KeyValue{semconv.GenAIOperationNameExecuteTool,
				semconv.GenAIToolName("get_weather"), semconv.GenAIToolCallArgumentsKey.String(`{"city":"Paris"}`)}
		}
		return "chat gpt-4o", []attribute.KeyValue{semconv.GenAIOperationNameChat, semconv.GenAIRequestModel("gpt-4o"),
			semconv.GenAIInputMessagesKey.String(prompt), semconv.GenAIUsageInputTokens(120)}
	}
	// trace makes runs open runs on tp and returns their roots, to be ended
	// by the caller once measured.
	trace := func(tp *sdktrace.TracerProvider, runs int) []trace.Span {
		tr := tp.Tracer("bench")
		roots := make([]trace.Span, runs)
		for r := range roots {
			ctx, root := tr.Start(context.Background(), "invoke_agent weather",
				trace.WithAttributes(semconv.GenAIOperationNameInvokeAgent))
			for c := range 9 {
				name, attrs := child(c)
				_, s := tr.Start(ctx, name, trace.WithAttributes(attrs...))
				s.End()
			}
			roots[r] = root
		}
		return roots
	}
	// content is what one run's children are, written compactly: ids (16 +
	// 8 + 8 bytes), start and end (8 each), status (1), name, and each
	// attribute's key and value (a string's bytes, a number's 8).
	var content int
	for c := range 9 {
		name, attrs := child(c)
		content += 16 + 8 + 8 + 8 + 8 + 1 + len(name)
		for _, kv := range attrs {
			content += len(kv.Key)
			if kv.Value.Type() == attribute.STRING {
				content += len(kv.Value.AsString())
			} else {
				content += 8
			}
		}
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	ctx := context.Background()
	url := discardingServer(b)
	// growth is the heap per run added between few and many open runs made
	// by open on a fresh bridge, less the same for the program alone.
	growth := func(open func(runs int) (held uint64, done func())) float64 {
		var withBridge [2]uint64
		for i, runs := range []int{few, many} {
			held, done := open(runs)
			withBridge[i] = held
			done()
		}
		var alone [2]uint64
		for i, runs := range []int{few, many} {
			base := heap()
			roots := trace(sdktrace.NewTracerProvider(), runs)
			alone[i] = heap() - base
			runtime.KeepAlive(roots)
		}
		return (float64(withBridge[1]-withBridge[0]) - float64(alone[1]-alone[0])) / (many - few)
	}

	// held is the heap that runs open runs on tp hold once flush returns;
	// done ends them.
	held := func(b *testing.B, tp *sdktrace.TracerProvider, flush func(context.Context) error, runs int) (uint64, func()) {
		base := heap()
		roots := trace(tp, runs)
		if err := flush(ctx); err != nil {
			b.Fatal(err)
		}
		return heap() - base, func() {
			for _, r := range roots {
				r.End()
			}
			_ = tp.Shutdown(ctx)
		}
	}

	b.Run("path=exporter", func(b *testing.B) {
		var perRun float64
		for b.Loop() {
			perRun = growth(func(runs int) (uint64, func()) {
				exp, err := sdkbridge.NewExporter(ctx, bridgeOptions(url, sdkbridge.WithConcurrency(4))...)
				if err != nil {
					b.Fatal(err)
				}
				// The batcher hands over the children; the roots stay open.
				tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithMaxQueueSize(10*many)))
				return held(b, tp, tp.ForceFlush, runs)
			})
		}
		b.ReportMetric(perRun, "B/open-run")
		b.ReportMetric(float64(content), "content-B/open-run")
		b.ReportMetric(perRun-float64(content), "overhead-B/open-run")
	})
	b.Run("path=processor", func(b *testing.B) {
		var perRun float64
		for b.Loop() {
			perRun = growth(func(runs int) (uint64, func()) {
				sp, err := sdkbridge.NewSpanProcessor(ctx, bridgeOptions(url, sdkbridge.WithConcurrency(4))...)
				if err != nil {
					b.Fatal(err)
				}
				// ForceFlush sends the children's events. The queue's spare
				// chunks follow its peak, not the runs held: they go.
				flush := func(ctx context.Context) error {
					err := sp.ForceFlush(ctx)
					sdkbridge.DropFreeChunks(sp)
					return err
				}
				n, done := held(b, sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp)), flush, runs)
				return n, func() {
					done()
					if d := sp.DroppedSpans(); d != 0 {
						b.Fatalf("%d spans dropped: the measure is not of open runs", d)
					}
				}
			})
		}
		b.ReportMetric(perRun, "B/open-run")
		b.ReportMetric(perRun, "overhead-B/open-run")
	})
}

// discardingServer answers every ingest call with success and keeps
// nothing, so that its memory does not count as the bridge's.
func discardingServer(tb testing.TB) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == agentosapi.PathRunStart {
			_, _ = io.WriteString(w, `{"data":{"run_id":"5b3d1f0e-8a2c-4e6b-9d7f-1a2b3c4d5e6f"},"error":null}`)
			return
		}
		_, _ = io.WriteString(w, `{"data":{},"error":null}`)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}
