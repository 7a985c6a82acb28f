package bench

import (
	"context"
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agentos-ai/agentos-otel/exporter/agentosexporter"
)

// genAITraces is 512 spans as pdata: 64 runs of 8, GenAI attributes and
// span events; seq makes the trace ids unique.
func genAITraces(seq uint64) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "weather-agent")
	ss := rs.ScopeSpans().AppendEmpty().Spans()
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for r := range uint64(batchSize / 8) {
		var tid pcommon.TraceID
		binary.BigEndian.PutUint64(tid[:8], seq+1)
		binary.BigEndian.PutUint64(tid[8:], r+1)
		root := pcommon.SpanID{0xff, byte(r)}
		for c := range uint64(7) {
			s := ss.AppendEmpty()
			s.SetTraceID(tid)
			s.SetSpanID(pcommon.SpanID{byte(c + 1), byte(r)})
			s.SetParentSpanID(root)
			start := t0.Add(time.Duration(c) * 10 * time.Millisecond)
			s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
			s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(9 * time.Millisecond)))
			a := s.Attributes()
			if c%2 == 1 {
				s.SetName("execute_tool get_weather")
				a.PutStr("gen_ai.operation.name", "execute_tool")
				a.PutStr("gen_ai.tool.name", "get_weather")
				a.PutStr("gen_ai.tool.call.arguments", `{"city":"Paris"}`)
				a.PutStr("gen_ai.tool.call.result", `{"temp_c":21,"sky":"rain"}`)
				e := s.Events().AppendEmpty()
				e.SetName("cache.miss")
				e.SetTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Millisecond)))
				e.Attributes().PutStr("cache.key", "weather:paris")
				continue
			}
			s.SetName("chat gpt-4o")
			a.PutStr("gen_ai.operation.name", "chat")
			a.PutStr("gen_ai.provider.name", "openai")
			a.PutStr("gen_ai.request.model", "gpt-4o")
			a.PutStr("gen_ai.input.messages", prompt)
			a.PutInt("gen_ai.usage.input_tokens", 120)
			a.PutInt("gen_ai.usage.output_tokens", 42)
		}
		s := ss.AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(root)
		s.SetName("invoke_agent weather")
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(t0))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(80 * time.Millisecond)))
		s.Attributes().PutStr("gen_ai.operation.name", "invoke_agent")
		s.Status().SetCode(ptrace.StatusCodeOk)
	}
	return td
}

func renumber(td ptrace.Traces, seq uint64) {
	ss := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < ss.Len(); i++ {
		s := ss.At(i)
		tid := s.TraceID()
		binary.BigEndian.PutUint64(tid[:8], seq+1)
		s.SetTraceID(tid)
	}
}

func startExporter(b *testing.B, f exporter.Factory, cfg component.Config) exporter.Traces {
	b.Helper()
	exp, err := f.CreateTraces(context.Background(), exportertest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	return exp
}

// sinkLatency is a hosted API's round trip, for BenchmarkCollectorExporterLatency.
const sinkLatency = 50 * time.Millisecond

// batchesPerOp is the work of one op there: 8 batches, 512 runs.
const batchesPerOp = 8

// BenchmarkCollectorExporterLatency pushes 512-span batches (64 runs)
// through each exporter component with its default sending queue, to a
// sink answering after 50 ms. One op hands over 8 batches, then waits
// until the sink has all of them (spans for otlphttp, closed runs for
// ours): the figure is delivered spans/s, not queued. Whole traces arrive
// in one batch, so ours gets a short grace period: waiting for late spans
// would only add the same pause to every op.
func BenchmarkCollectorExporterLatency(b *testing.B) {
	ctx := context.Background()
	// bench drives exp, next building each batch, and waits on delivered,
	// in spans.
	bench := func(b *testing.B, exp exporter.Traces, delivered func() int, next func(i int) ptrace.Traces) {
		c := startCost()
		spans := 0
		for b.Loop() {
			for range batchesPerOp {
				c.pause()
				td := next(spans / batchSize)
				c.resume()
				if err := exp.ConsumeTraces(ctx, td); err != nil {
					b.Fatal(err)
				}
				spans += batchSize
			}
			for delivered() < spans {
				time.Sleep(time.Millisecond)
			}
		}
		c.reportWall(b, spans)
		if err := exp.Shutdown(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("peer=otlphttp", func(b *testing.B) {
		var received atomic.Int64
		f := otlphttpexporter.NewFactory()
		cfg := f.CreateDefaultConfig().(*otlphttpexporter.Config)
		cfg.ClientConfig.Endpoint = slowOTLPSink(b, sinkLatency, &received)
		td := genAITraces(0)
		// The queue keeps what it was given: a new batch each time.
		bench(b, startExporter(b, f, cfg), func() int { return int(received.Load()) },
			func(int) ptrace.Traces { c := ptrace.NewTraces(); td.CopyTo(c); return c })
	})
	b.Run("ours=agentos", func(b *testing.B) {
		var closed atomic.Int64
		f := agentosexporter.NewFactory()
		cfg := f.CreateDefaultConfig().(*agentosexporter.Config)
		cfg.ClientConfig.Endpoint = slowAgentosSink(b, sinkLatency, &closed)
		cfg.APIKey = benchKey
		cfg.AgentID = benchAgent
		cfg.Timing.GracePeriod = 100 * time.Millisecond
		td := genAITraces(0)
		const spansPerRun = 8
		bench(b, startExporter(b, f, cfg), func() int { return int(closed.Load()) * spansPerRun },
			func(i int) ptrace.Traces {
				c := ptrace.NewTraces()
				td.CopyTo(c)
				renumber(c, uint64(i))
				return c
			})
	})
}
