package agentosexporter

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
)

// TestCollectorLogsAndTraces runs an in-process Collector whose logs and
// traces pipelines share the agentos exporter, fed over OTLP/HTTP by the
// otel-go SDK: an agent whose chat span's content is only in GenAI log
// records, as the official OpenAI instrumentations emit it. The content
// reaches the strict server in the chat span's events, once.
func TestCollectorLogsAndTraces(t *testing.T) {
	srv, url := newLocalServer(t)
	ctx := context.Background()
	f := NewFactory()
	cfg := testConfig(url)
	require.NoError(t, cfg.Validate())
	set := newObserved(t).settings()
	logsExp, err := f.CreateLogs(ctx, set, cfg)
	require.NoError(t, err)
	tracesExp, err := f.CreateTraces(ctx, set, cfg)
	require.NoError(t, err)

	addr := freeAddr(t)
	rf := otlpreceiver.NewFactory()
	rcfg := rf.CreateDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"protocols": map[string]any{"http": map[string]any{"endpoint": addr}},
	}).Unmarshal(rcfg))
	// The OTLP receiver is one instance per config for both signals.
	rset := receivertest.NewNopSettings(rf.Type())
	rcvLogs, err := rf.CreateLogs(ctx, rset, rcfg, logsExp)
	require.NoError(t, err)
	rcvTraces, err := rf.CreateTraces(ctx, rset, rcfg, tracesExp)
	require.NoError(t, err)
	host := componenttest.NewNopHost()
	require.NoError(t, logsExp.Start(ctx, host))
	require.NoError(t, tracesExp.Start(ctx, host))
	require.NoError(t, rcvLogs.Start(ctx, host))
	require.NoError(t, rcvTraces.Start(ctx, host))

	traceOut, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(addr), otlptracehttp.WithInsecure())
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(traceOut))
	logOut, err := otlploghttp.New(ctx, otlploghttp.WithEndpoint(addr), otlploghttp.WithInsecure())
	require.NoError(t, err)
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(logOut)))
	logger := lp.Logger("openai-instrumentation")
	tr := tp.Tracer("openai-instrumentation")

	rootCtx, root := tr.Start(ctx, "invoke_agent weather", semconvAgent())
	chatCtx, chat := tr.Start(rootCtx, "chat gpt-4o", semconvChat())
	emit := func(name string, body attribute.Value) {
		var r otellog.Record
		r.SetEventName(name)
		r.SetTimestamp(time.Now())
		r.SetBody(body)
		r.AddAttributes(attribute.String("gen_ai.provider.name", "openai"))
		logger.Emit(chatCtx, r)
	}
	emit("gen_ai.system.message", attribute.MapValue(attribute.String("content", "Be brief.")))
	emit("gen_ai.user.message", attribute.MapValue(attribute.String("content", "Weather in Paris?")))
	emit("gen_ai.choice", attribute.MapValue(attribute.Int("index", 0), attribute.String("finish_reason", "stop"),
		attribute.Map("message", attribute.String("role", "assistant"), attribute.String("content", "Sunny."))))
	chat.End()
	root.End()
	// An SDK flushes its log batches on its own clock; the usual order,
	// logs before the span batch, is what this pins.
	require.NoError(t, lp.ForceFlush(ctx))
	require.NoError(t, tp.ForceFlush(ctx))
	require.NoError(t, lp.Shutdown(ctx))
	require.NoError(t, tp.Shutdown(ctx))

	require.NoError(t, rcvTraces.Shutdown(ctx))
	require.NoError(t, rcvLogs.Shutdown(ctx))
	require.NoError(t, tracesExp.Shutdown(ctx))
	require.NoError(t, logsExp.Shutdown(ctx))

	runs := srv.Runs()
	require.Len(t, runs, 1)
	var types []string
	payloads := map[string]string{}
	for _, e := range runs[0].Events {
		types = append(types, e.Type)
		payloads[e.Type] = string(e.Payload)
	}
	assert.Equal(t, "llm.request,llm.response", strings.Join(types, ","))
	assert.Contains(t, payloads["llm.request"], `"prompt":[{"role":"system","content":"Be brief."},{"role":"user","content":"Weather in Paris?"}]`)
	assert.Contains(t, payloads["llm.response"], `"response":[{"content":"Sunny.","role":"assistant"}]`, "the message as the SDK encoded it (its map keys sorted)")
	assert.Contains(t, payloads["llm.response"], `"finish_reasons":["stop"]`)
	require.Zero(t, srv.Stats().Rejected, "the strict server rejected a request")
}

func semconvAgent() trace.SpanStartEventOption {
	return trace.WithAttributes(semconv.GenAIOperationNameInvokeAgent, semconv.GenAIAgentName("weather"))
}

func semconvChat() trace.SpanStartEventOption {
	return trace.WithAttributes(semconv.GenAIOperationNameChat, semconv.GenAIRequestModel("gpt-4o"))
}
