package bench

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agentos-ai/agentos-otel/exporter/agentosexporter"
)

// genAITraces is genAIBatch as pdata: 512 spans, 64 runs.
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

// BenchmarkCollectorExporter pushes 512-span batches through each exporter
// component (exporterhelper included, queue off so the call is the work)
// to a discarding sink. Ours is shut down inside the timing, so every run
// it tracked is delivered and closed.
func BenchmarkCollectorExporter(b *testing.B) {
	ctx := context.Background()
	b.Run("peer=otlphttp", func(b *testing.B) {
		f := otlphttpexporter.NewFactory()
		cfg := f.CreateDefaultConfig().(*otlphttpexporter.Config)
		cfg.ClientConfig.Endpoint = otlpSink(b)
		cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
		exp := startExporter(b, f, cfg)
		td := genAITraces(0)
		c := startCost()
		spans := 0
		for b.Loop() {
			if err := exp.ConsumeTraces(ctx, td); err != nil {
				b.Fatal(err)
			}
			spans += batchSize
		}
		if err := exp.Shutdown(ctx); err != nil {
			b.Fatal(err)
		}
		c.reportWall(b, spans)
	})
	b.Run("ours=agentos", func(b *testing.B) {
		f := agentosexporter.NewFactory()
		cfg := f.CreateDefaultConfig().(*agentosexporter.Config)
		cfg.ClientConfig.Endpoint = agentosSink(b)
		cfg.APIKey = benchKey
		cfg.AgentID = benchAgent
		cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
		exp := startExporter(b, f, cfg)
		td := genAITraces(0)
		c := startCost()
		spans := 0
		for i := 0; b.Loop(); i++ {
			// New trace ids each time (a closed run's spans are late); the
			// exporter copies what it keeps, so reusing td is safe.
			renumber(td, uint64(i))
			if err := exp.ConsumeTraces(ctx, td); err != nil {
				b.Fatal(err)
			}
			spans += batchSize
		}
		if err := exp.Shutdown(ctx); err != nil {
			b.Fatal(err)
		}
		c.reportWall(b, spans)
	})
}
