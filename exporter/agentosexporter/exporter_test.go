package agentosexporter

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/delivery"
	"github.com/agentos-ai/agentos-otel/internal/pipeline"
)

// oneRun is a finished agent turn as a receiver hands it over: the chat
// child first, then its invoke_agent root.
func oneRun(id byte) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	tid := pcommon.TraceID{id, 0xa, 0xb}
	chat := ss.AppendEmpty()
	chat.SetTraceID(tid)
	chat.SetSpanID(pcommon.SpanID{id, 2})
	chat.SetParentSpanID(pcommon.SpanID{id, 1})
	chat.SetName("chat m")
	chat.SetStartTimestamp(ts(time.Millisecond))
	chat.SetEndTimestamp(ts(2 * time.Millisecond))
	chat.Attributes().PutStr("gen_ai.operation.name", "chat")
	chat.Attributes().PutStr("gen_ai.request.model", "m")
	root := ss.AppendEmpty()
	root.SetTraceID(tid)
	root.SetSpanID(pcommon.SpanID{id, 1})
	root.SetName("invoke_agent demo")
	root.SetStartTimestamp(ts(0))
	root.SetEndTimestamp(ts(3 * time.Millisecond))
	root.Attributes().PutStr("gen_ai.operation.name", "invoke_agent")
	return td
}

// observed is what the exporter reported through the Collector's own
// telemetry: metrics and zap logs.
type observed struct {
	tel  *componenttest.Telemetry
	core zapcore.Core
	logs *observer.ObservedLogs
}

func newObserved(t *testing.T) observed {
	t.Helper()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	core, logs := observer.New(zapcore.DebugLevel)
	return observed{tel: tel, core: core, logs: logs}
}

func (o observed) settings() exporter.Settings {
	set := exportertest.NewNopSettings(NewFactory().Type())
	set.TelemetrySettings = o.tel.NewTelemetrySettings()
	set.Logger = zap.New(o.core)
	return set
}

// counter sums an int64 counter over its attribute sets; 0 if it was
// never recorded.
func (o observed) counter(t *testing.T, name string) int64 {
	t.Helper()
	m, err := o.tel.GetMetric(name)
	if err != nil {
		return 0
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is a %T", name, m.Data)
	return total(sum.DataPoints)
}

func total(points []metricdata.DataPoint[int64]) int64 {
	var n int64
	for _, dp := range points {
		n += dp.Value
	}
	return n
}

func (o observed) assertNoKeyLogged(t *testing.T, keys ...string) {
	t.Helper()
	for _, e := range o.logs.All() {
		line := e.Message
		for _, f := range e.Context {
			line += " " + f.Key + "=" + f.String
			if f.Interface != nil {
				if err, ok := f.Interface.(error); ok {
					line += err.Error()
				}
			}
		}
		for _, k := range keys {
			assert.NotContains(t, line, k, "a key reached the log")
		}
	}
}

func testConfig(url string) *Config {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = url
	cfg.APIKey = testKey
	cfg.AgentID = testAgent
	cfg.Timing.GracePeriod = 10 * time.Millisecond
	cfg.RequestRetry.InitialInterval = 10 * time.Millisecond
	cfg.RequestRetry.MaxInterval = 20 * time.Millisecond
	return cfg
}

func runExporter(t *testing.T, cfg *Config, set exporter.Settings, batches ...ptrace.Traces) {
	t.Helper()
	require.NoError(t, runExporterErr(t, cfg, set, batches...))
}

// runExporterErr returns what Shutdown returns: the runs it could not
// deliver.
func runExporterErr(t *testing.T, cfg *Config, set exporter.Settings, batches ...ptrace.Traces) error {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, cfg.Validate())
	exp, err := NewFactory().CreateTraces(ctx, set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(ctx, componenttest.NewNopHost()))
	for _, td := range batches {
		require.NoError(t, exp.ConsumeTraces(ctx, td))
	}
	return exp.Shutdown(ctx)
}

// requireRunsNotDelivered checks Shutdown's report of failed runs.
func requireRunsNotDelivered(t *testing.T, err error, runs int, cause string) {
	t.Helper()
	var failed *delivery.FailedRunsError
	require.ErrorAs(t, err, &failed)
	assert.Equal(t, runs, failed.Runs)
	assert.Contains(t, err.Error(), cause)
}

// The pipeline's self-telemetry goes to the Collector's MeterProvider and
// its logs to the Collector's zap logger.
func TestTelemetryReachesTheCollector(t *testing.T) {
	srv, url := newLocalServer(t)
	o := newObserved(t)
	runExporter(t, testConfig(url), o.settings(), oneRun(1), oneRun(2))

	require.Len(t, srv.Runs(), 2)
	assert.Equal(t, int64(2), o.counter(t, "agentos.runs.started"))
	assert.Equal(t, int64(2), o.counter(t, "agentos.runs.completed"))
	assert.Equal(t, int64(4), o.counter(t, "agentos.events.sent"), "llm.request and llm.response per run")
	assert.Zero(t, o.counter(t, "agentos.requests.failed"))
	assert.NotZero(t, o.logs.FilterLevelExact(zapcore.DebugLevel).Len(), "the core's debug logs reach zap")
	o.assertNoKeyLogged(t, testKey)
}

// A 503 is retried by the ingest client under request_retry, not by the
// Collector: the run is started once, not once per Collector retry, and
// consuming never waits for AgentOS.
func TestRetriesAreTheIngestClients(t *testing.T) {
	srv, url := newLocalServer(t)
	srv.FailNext(2, 503, "")
	o := newObserved(t)
	runExporter(t, testConfig(url), o.settings(), oneRun(1))

	runs := srv.Runs()
	require.Len(t, runs, 1)
	assert.Equal(t, "completed", runs[0].Status)
	assert.Len(t, runs[0].Events, 2)
	assert.Equal(t, 3, srv.Stats().Requests[agentosapi.PathRunStart], "two failures, then the start that worked")
	assert.Equal(t, 2, o.logs.FilterMessage("AgentOS request failed; retrying").Len())
	assert.Zero(t, o.counter(t, "agentos.requests.failed"))
}

// With request_retry disabled a failed run/start is given up at once:
// counted, logged once at error with the server's message, its events
// dropped, reported by Shutdown, and never retried by the Collector either.
func TestRetriesDisabled(t *testing.T) {
	srv, url := newLocalServer(t)
	srv.FailNext(1, 503, "")
	o := newObserved(t)
	cfg := testConfig(url)
	cfg.RequestRetry.Enabled = false
	err := runExporterErr(t, cfg, o.settings(), oneRun(1))
	requireRunsNotDelivered(t, err, 1, "503 Service Unavailable")

	assert.Empty(t, srv.Runs())
	assert.Equal(t, 1, srv.Stats().Requests[agentosapi.PathRunStart])
	assert.NotZero(t, o.counter(t, "agentos.requests.failed"))
	assert.Equal(t, int64(2), o.counter(t, "agentos.events.dropped"))
	assert.Contains(t, startFailure(t, o)["error"], "503 Service Unavailable")
}

// A key AgentOS does not know is a permanent failure: one request, the
// server's message in the log, and the key itself nowhere.
func TestUnknownKeyIsPermanentAndNotLogged(t *testing.T) {
	srv, url := newLocalServer(t)
	o := newObserved(t)
	cfg := testConfig(url)
	const wrongKey = "aos_agent_not_registered_secret"
	cfg.APIKey = wrongKey
	err := runExporterErr(t, cfg, o.settings(), oneRun(1))
	requireRunsNotDelivered(t, err, 1, "401 Unauthorized")
	assert.NotContains(t, err.Error(), wrongKey)

	assert.Empty(t, srv.Runs())
	assert.Equal(t, 1, srv.Stats().Requests[agentosapi.PathRunStart], "a 401 is not retried")
	assert.Contains(t, startFailure(t, o)["error"], "401 Unauthorized: API key is not valid (check AGENTOS_API_KEY / api_key")
	assert.Contains(t, startFailure(t, o)["error"], "unknown or revoked API key")
	o.assertNoKeyLogged(t, wrongKey, testKey)
}

// startFailure returns the fields of the one error logged for the run
// whose run/start failed; its later requests were never sent.
func startFailure(t *testing.T, o observed) map[string]any {
	t.Helper()
	lines := o.logs.FilterLevelExact(zapcore.ErrorLevel).FilterMessage("AgentOS run not delivered").All()
	require.Len(t, lines, 1, "one error line per failed run")
	f := lines[0].ContextMap()
	require.Equal(t, "run/start", f["request"])
	require.NotEmpty(t, f["external_run_id"])
	return f
}

// The adapter refuses spans before Start, and after Shutdown says so as a
// permanent error, so exporterhelper does not retry or requeue them.
func TestConsumeOutsideTheLifecycle(t *testing.T) {
	_, url := newLocalServer(t)
	ctx := context.Background()
	e := newTracesExporter(testConfig(url), exportertest.NewNopSettings(NewFactory().Type()))
	require.Error(t, e.consume(ctx, oneRun(1)))
	require.NoError(t, e.shutdown(ctx), "shutdown without start")

	require.NoError(t, e.start(ctx, componenttest.NewNopHost()))
	require.NoError(t, e.shutdown(ctx))
	err := e.consume(ctx, oneRun(1))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.ErrorIs(t, err, pipeline.ErrShutdown)

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	e = newTracesExporter(testConfig(url), exportertest.NewNopSettings(NewFactory().Type()))
	require.NoError(t, e.start(ctx, componenttest.NewNopHost()))
	assert.True(t, errors.Is(e.consume(canceled, oneRun(1)), context.Canceled))
	require.NoError(t, e.shutdown(ctx))
}

// A bad HTTP client setting fails Start with the cause, not later.
func TestStartFailsOnBadClientConfig(t *testing.T) {
	_, url := newLocalServer(t)
	cfg := testConfig(url)
	cfg.ClientConfig.TLS.CAFile = "testdata/does-not-exist.pem"
	e := newTracesExporter(cfg, exportertest.NewNopSettings(NewFactory().Type()))
	err := e.start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "HTTP client")
	require.NoError(t, e.shutdown(context.Background()))
}
