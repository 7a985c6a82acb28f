package agentosexporter

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

// The HTTP client is not wrapped in otelhttp, even when the Collector
// traces itself: no client span per request, and no Collector trace
// context on requests to AgentOS (the wrapper would also cost a second
// write per request).
func TestRequestsAreNotInstrumented(t *testing.T) {
	prev := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTextMapPropagator(prev) })

	srv := localserver.New(localserver.Options{})
	srv.RegisterAgent(testAgent, testKey)
	var mu sync.Mutex
	var requests, traced int
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		if r.Header.Get("Traceparent") != "" {
			traced++
		}
		mu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)

	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	set := exportertest.NewNopSettings(NewFactory().Type())
	set.TracerProvider = tp
	runExporter(t, testConfig(hs.URL), set, oneRun(1))

	require.Len(t, srv.Runs(), 1)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 3, requests, "run/start, events, run/complete")
	assert.Zero(t, traced, "requests carrying the Collector's trace context")
	for _, s := range recorder.Ended() {
		assert.NotEqual(t, oteltrace.SpanKindClient, s.SpanKind(), "client span %q recorded for a request to AgentOS", s.Name())
	}
}
