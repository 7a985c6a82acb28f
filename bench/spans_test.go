package bench

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
)

const batchSize = 512 // spans per export: 64 runs of 8 spans

var prompt = `[{"role":"user","parts":[{"type":"text","content":"What is the weather in Paris today, and should I take an umbrella?"}]}]`

// genAIBatch builds 512 ended spans with GenAI attributes and a few span
// events; seq makes the trace ids unique per batch.
func genAIBatch(seq uint64) []sdktrace.ReadOnlySpan {
	stubs := make(tracetest.SpanStubs, 0, batchSize)
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for r := range uint64(batchSize / 8) {
		var tid trace.TraceID
		binary.BigEndian.PutUint64(tid[:8], seq+1)
		binary.BigEndian.PutUint64(tid[8:], r+1)
		rootID := trace.SpanID{0xff, byte(r)}
		root := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: rootID, TraceFlags: trace.FlagsSampled})
		for c := range uint64(7) {
			sid := trace.SpanID{byte(c + 1), byte(r)}
			start := t0.Add(time.Duration(c) * 10 * time.Millisecond)
			stub := tracetest.SpanStub{
				Name:        "chat gpt-4o",
				SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}),
				Parent:      root,
				SpanKind:    trace.SpanKindClient,
				StartTime:   start,
				EndTime:     start.Add(9 * time.Millisecond),
				Attributes: []attribute.KeyValue{
					semconv.GenAIOperationNameChat, semconv.GenAIProviderNameOpenAI,
					semconv.GenAIRequestModel("gpt-4o"), semconv.GenAIResponseModel("gpt-4o-2024-08-06"),
					semconv.GenAIInputMessagesKey.String(prompt),
					semconv.GenAIUsageInputTokens(120), semconv.GenAIUsageOutputTokens(42),
					semconv.GenAIResponseFinishReasons("stop"),
				},
			}
			if c%2 == 1 {
				stub.Name = "execute_tool get_weather"
				stub.Attributes = []attribute.KeyValue{
					semconv.GenAIOperationNameExecuteTool, semconv.GenAIToolName("get_weather"),
					semconv.GenAIToolCallID(fmt.Sprintf("call_%d", c)),
					semconv.GenAIToolCallArgumentsKey.String(`{"city":"Paris"}`),
					semconv.GenAIToolCallResultKey.String(`{"temp_c":21,"sky":"rain"}`),
				}
				stub.Events = []sdktrace.Event{{Name: "cache.miss", Time: start.Add(time.Millisecond),
					Attributes: []attribute.KeyValue{attribute.String("cache.key", "weather:paris")}}}
			}
			stubs = append(stubs, stub)
		}
		stubs = append(stubs, tracetest.SpanStub{
			Name: "invoke_agent weather", SpanContext: root, StartTime: t0, EndTime: t0.Add(80 * time.Millisecond),
			Attributes: []attribute.KeyValue{semconv.GenAIOperationNameInvokeAgent, semconv.GenAIAgentName("weather"),
				semconv.GenAIInputMessagesKey.String(prompt)},
			Status: sdktrace.Status{Code: codes.Ok},
		})
	}
	return stubs.Snapshots()
}

// cost measures allocation across the whole process (delivery goroutines
// included) and reports it per span.
type cost struct {
	before runtime.MemStats
	start  time.Time
	cpu    time.Duration // process CPU time (all goroutines) at start
	// excluded is what pause/resume kept out: setup inside the loop.
	excludedBytes, excludedMallocs uint64
	paused                         runtime.MemStats
}

// pause and resume bracket setup work inside the loop (a new batch), so its
// allocations are not charged to the code measured.
func (c *cost) pause() { runtime.ReadMemStats(&c.paused) }

func (c *cost) resume() {
	var now runtime.MemStats
	runtime.ReadMemStats(&now)
	c.excludedBytes += now.TotalAlloc - c.paused.TotalAlloc
	c.excludedMallocs += now.Mallocs - c.paused.Mallocs
}

func startCost() *cost {
	c := &cost{}
	runtime.GC()
	runtime.ReadMemStats(&c.before)
	c.start = time.Now()
	c.cpu = processCPU()
	return c
}

// report uses the benchmark's own timer.
func (c *cost) report(b *testing.B, spans int) { c.reportTime(b, spans, b.Elapsed()) }

// reportWall uses the wall time since startCost, for work that ends after
// the timed loop (delivery finished by Shutdown).
func (c *cost) reportWall(b *testing.B, spans int) { c.reportTime(b, spans, time.Since(c.start)) }

func (c *cost) reportTime(b *testing.B, spans int, elapsed time.Duration) {
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	n := float64(spans)
	b.ReportMetric(float64(elapsed.Nanoseconds())/n, "ns/span")
	b.ReportMetric(float64(after.TotalAlloc-c.before.TotalAlloc-c.excludedBytes)/n, "B/span")
	b.ReportMetric(float64(after.Mallocs-c.before.Mallocs-c.excludedMallocs)/n, "allocs/span")
	b.ReportMetric(n/elapsed.Seconds(), "spans/s")
	b.ReportMetric(float64((processCPU()-c.cpu).Nanoseconds())/n, "cpu-ns/span")
}

// processCPU is the user and system CPU time of the whole process: work
// done on background goroutines counts, not only the caller's.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
