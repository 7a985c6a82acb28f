package sdkbridge_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

var (
	outageFor  = flag.Duration("outage", 5*time.Second, "BenchmarkLiveOutageMemory: how long AgentOS answers 503")
	outageRate = flag.Int("outage-runs", 40, "BenchmarkLiveOutageMemory: runs traced per second")
)

// BenchmarkLiveOutageMemory is the heap of a program traced through the
// live processor with the default MaxBufferedBytes (64 MiB) while AgentOS
// answers 503 for -outage (5 s; the acceptance figure is -outage 60s):
// -outage-runs runs a second, each a root and 4 LLM calls with 50 KB
// prompts (distinct strings, as a real agent's) and 4 tool calls. AgentOS
// is up 2 s before and after, then until the processor holds nothing.
// Every 250 ms it samples the live heap (runtime/metrics
// /gc/heap/live:bytes, marked by the last GC), HeapInuse, and the bytes
// the processor accounts (queue and core); -v logs them each second. The
// metrics are the peaks beyond the heap before the processor started,
// and the span starts and ends dropped, of children and of roots. The server discards what it receives, in this
// process, so that its own memory does not grow with runs.
func BenchmarkLiveOutageMemory(b *testing.B) {
	const budget = 64 << 20
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == agentosapi.PathRunStart {
			_, _ = io.WriteString(w, `{"data":{"run_id":"5b3d1f0e-8a2c-4e6b-9d7f-1a2b3c4d5e6f"},"error":null}`)
			return
		}
		_, _ = io.WriteString(w, `{"data":{},"error":null}`)
	}))
	defer srv.Close()
	ctx := context.Background()
	for b.Loop() {
		base := liveHeap(true)
		sp, err := sdkbridge.NewSpanProcessor(ctx, sdkbridge.WithEndpoint(srv.URL), sdkbridge.WithAPIKey(apiKey),
			sdkbridge.WithAgentID(agentID), sdkbridge.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			b.Fatal(err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
		tr := tp.Tracer("bench")

		var peakLive, peakInuse, peakAccounted int64
		sample := func() (live, inuse, accounted int64) {
			live, inuse = liveHeap(false)-base, heapInuse()-base
			w, _ := sdkbridge.Accounted(sp)
			peakLive, peakInuse, peakAccounted = max(peakLive, live), max(peakInuse, inuse), max(peakAccounted, w)
			return live, inuse, w
		}
		stopTracing := make(chan struct{})
		var tracing sync.WaitGroup
		var runs atomic.Int64
		tracing.Go(func() {
			tick := time.NewTicker(time.Second / time.Duration(*outageRate))
			defer tick.Stop()
			for {
				select {
				case <-stopTracing:
					return
				case <-tick.C:
					promptRun(ctx, tr, runs.Add(1))
				}
			}
		})
		start := time.Now()
		phase := "up"
		lastLog := time.Time{}
		watch := func(until func() bool) {
			for !until() {
				time.Sleep(250 * time.Millisecond)
				live, inuse, acc := sample()
				if time.Since(lastLog) >= time.Second {
					lastLog = time.Now()
					b.Logf("t=%5.1fs %-5s live heap %6.1f MiB, HeapInuse %6.1f MiB, processor accounts %5.1f MiB of %d, dropped %d (roots %d)",
						time.Since(start).Seconds(), phase, mib(live), mib(inuse), mib(acc), budget>>20, sp.DroppedSpans(), sdkbridge.DroppedRoots(sp))
				}
			}
		}
		after := func(d time.Duration) func() bool {
			t := time.Now().Add(d)
			return func() bool { return time.Now().After(t) }
		}
		watch(after(2 * time.Second))
		down.Store(true)
		phase = "down"
		watch(after(*outageFor))
		down.Store(false)
		phase = "up"
		watch(after(2 * time.Second))
		close(stopTracing)
		tracing.Wait()
		phase = "drain"
		watch(func() bool { w, _ := sdkbridge.Accounted(sp); return w == 0 })
		if err := tp.Shutdown(ctx); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(mib(peakLive), "peak-live-MiB")
		b.ReportMetric(mib(peakInuse), "peak-inuse-MiB")
		b.ReportMetric(mib(peakAccounted), "peak-accounted-MiB")
		b.ReportMetric(budget>>20, "budget-MiB")
		b.ReportMetric(float64(sp.DroppedSpans()-sdkbridge.DroppedRoots(sp)), "dropped-children")
		b.ReportMetric(float64(sdkbridge.DroppedRoots(sp)), "dropped-roots")
		b.ReportMetric(float64(runs.Load()), "runs")
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// promptRun traces a run with 50 KB prompts: the root's input and four
// LLM calls', each a string of its own.
func promptRun(ctx context.Context, tr trace.Tracer, n int64) {
	prompt := func(i int) string {
		return messagesOf("user", fmt.Sprintf("%d/%d ", n, i)+strings.Repeat("p", 50<<10))
	}
	ctx, root := tr.Start(ctx, "invoke_agent travel", trace.WithAttributes(semconv.GenAIOperationNameInvokeAgent,
		semconv.GenAIInputMessagesKey.String(prompt(0))))
	for i := range 8 {
		if i%2 == 0 {
			_, s := tr.Start(ctx, "chat gpt-4o", trace.WithAttributes(semconv.GenAIOperationNameChat,
				semconv.GenAIRequestModel("gpt-4o"), semconv.GenAIInputMessagesKey.String(prompt(i+1))))
			s.SetAttributes(semconv.GenAIOutputMessagesKey.String(messagesOf("assistant", strings.Repeat("a", 1<<10))),
				semconv.GenAIUsageInputTokens(12000), semconv.GenAIUsageOutputTokens(250))
			s.End()
			continue
		}
		_, s := tr.Start(ctx, "execute_tool get_weather", trace.WithAttributes(semconv.GenAIOperationNameExecuteTool,
			semconv.GenAIToolName("get_weather"), semconv.GenAIToolCallArgumentsKey.String(`{"city":"Paris"}`)))
		s.SetAttributes(semconv.GenAIToolCallResultKey.String(`{"temp_c":14,"sky":"rain"}`))
		s.End()
	}
	root.End()
}

// liveHeap is the heap the last GC found live; gc runs one first.
func liveHeap(gc bool) int64 {
	if gc {
		runtime.GC()
	}
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

func heapInuse() int64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}
