package agentosexporter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
	"github.com/agentos-ai/agentos-otel/internal/localservertest"
	"github.com/agentos-ai/agentos-otel/sdkbridge"
)

const (
	testAgent = "3b241101-e2bb-4255-8caf-4136c566a962"
	testKey   = "aos_agent_pipeline_test"
)

func newLocalServer(t *testing.T) (*localserver.Server, string) {
	t.Helper()
	return localservertest.Start(t, localserver.Options{}, localservertest.Agent{ID: testAgent, Key: testKey})
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// startCollector runs an in-process pipeline, OTLP/HTTP receiver → agentos
// exporter → the AgentOS at url, and returns the receiver's address.
func startCollector(t *testing.T, url string) (addr string, stop func()) {
	t.Helper()
	ctx := context.Background()
	expCfg := NewFactory().CreateDefaultConfig().(*Config)
	expCfg.ClientConfig.Endpoint = url
	expCfg.APIKey = testKey
	expCfg.AgentID = testAgent
	expCfg.Timing.GracePeriod = 50 * time.Millisecond
	require.NoError(t, expCfg.Validate())
	exp, err := NewFactory().CreateTraces(ctx, exportertest.NewNopSettings(NewFactory().Type()), expCfg)
	require.NoError(t, err)

	addr = freeAddr(t)
	rf := otlpreceiver.NewFactory()
	rcfg := rf.CreateDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"protocols": map[string]any{"http": map[string]any{"endpoint": addr}},
	}).Unmarshal(rcfg))
	rcv, err := rf.CreateTraces(ctx, receivertest.NewNopSettings(rf.Type()), rcfg, exp)
	require.NoError(t, err)

	host := componenttest.NewNopHost()
	require.NoError(t, exp.Start(ctx, host))
	require.NoError(t, rcv.Start(ctx, host))
	return addr, func() {
		require.NoError(t, rcv.Shutdown(ctx))
		require.NoError(t, exp.Shutdown(ctx))
	}
}

// agentTurns records three runs: one completes, one fails, and one whose
// root is still open when the program shuts down.
func agentTurns(ctx context.Context, tr trace.Tracer) {
	for i, fail := range []bool{false, true} {
		ctx, root := tr.Start(ctx, fmt.Sprintf("invoke_agent turn-%d", i), trace.WithAttributes(
			semconv.GenAIOperationNameInvokeAgent, semconv.GenAIAgentName("demo"),
			semconv.GenAIInputMessagesKey.String(`[{"role":"user","parts":[{"type":"text","content":"hi"}]}]`)))
		_, chat := tr.Start(ctx, "chat m", trace.WithAttributes(semconv.GenAIOperationNameChat,
			semconv.GenAIRequestModel("m"), semconv.GenAIUsageInputTokens(10), semconv.GenAIUsageOutputTokens(3),
			attribute.Float64("temperature", 0.5), attribute.StringSlice("tags", []string{"a", "b"})))
		chat.End()
		_, tool := tr.Start(ctx, "execute_tool lookup", trace.WithAttributes(semconv.GenAIOperationNameExecuteTool,
			semconv.GenAIToolName("lookup"), semconv.GenAIToolCallArgumentsKey.String(`{"q":1}`)))
		tool.AddEvent("cache.miss", trace.WithAttributes(attribute.String("key", "k"), attribute.String("agentos.level", "debug")))
		if fail {
			tool.RecordError(errors.New("lookup exploded"))
			tool.SetStatus(codes.Error, "lookup exploded")
			root.SetStatus(codes.Error, "agent gave up")
		}
		tool.End()
		root.End()
	}
}

func TestCollectorPipelineToStrictServer(t *testing.T) {
	srv, url := newLocalServer(t)
	addr, stop := startCollector(t, url)
	ctx := context.Background()
	otlp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(addr), otlptracehttp.WithInsecure())
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(otlp))
	agentTurns(ctx, tp.Tracer("test"))
	require.NoError(t, tp.Shutdown(ctx))
	stop()

	runs := srv.Runs()
	require.Len(t, runs, 2)
	sort.Slice(runs, func(i, j int) bool { return runs[i].Status < runs[j].Status })
	require.Equal(t, "completed", runs[0].Status)
	require.Equal(t, "failed", runs[1].Status)
	require.Equal(t, "agent gave up", runs[1].ErrorMessage)
	want := map[string]string{
		"completed": "llm.request,llm.response,tool.called,cache.miss,tool.returned",
		"failed":    "llm.request,llm.response,tool.called,cache.miss,exception,tool.failed",
	}
	for _, r := range runs {
		var types []string
		for _, e := range r.Events {
			types = append(types, e.Type)
		}
		require.Equal(t, want[r.Status], strings.Join(types, ","), "run %s", r.Status)
	}
	require.Zero(t, srv.Stats().Rejected, "the strict server rejected a request")
}

// TestBothFrontEndsSendTheSameRequests feeds the same spans through the SDK
// bridge and through the Collector (OTLP/HTTP → receiver → this exporter)
// and compares what two strict servers received.
func TestBothFrontEndsSendTheSameRequests(t *testing.T) {
	ctx := context.Background()
	viaSDK, sdkURL := newLocalServer(t)
	viaCollector, colURL := newLocalServer(t)
	addr, stop := startCollector(t, colURL)

	bridge, err := sdkbridge.NewExporter(ctx, sdkbridge.WithEndpoint(sdkURL), sdkbridge.WithAPIKey(testKey),
		sdkbridge.WithAgentID(testAgent), sdkbridge.WithTiming(sdkbridge.Timing{GracePeriod: 50 * time.Millisecond}))
	require.NoError(t, err)
	otlp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(addr), otlptracehttp.WithInsecure())
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(bridge), sdktrace.WithBatcher(otlp))
	agentTurns(ctx, tp.Tracer("test"))
	require.NoError(t, tp.Shutdown(ctx))
	stop()

	a, b := comparable(t, viaSDK.Runs()), comparable(t, viaCollector.Runs())
	require.Len(t, a, 2)
	require.Equal(t, a, b)
}

// comparable strips what differs between two servers (run ids, receipt
// times) and orders runs by trace id.
func comparable(t *testing.T, runs []localserver.Run) []string {
	t.Helper()
	out := make([]string, 0, len(runs))
	for _, r := range runs {
		r.ID = ""
		r.StartedAt, r.EndedAt = time.Time{}, time.Time{}
		for i := range r.Events {
			r.Events[i].ReceivedAt = time.Time{}
		}
		b, err := json.MarshalIndent(r, "", " ")
		require.NoError(t, err)
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}
