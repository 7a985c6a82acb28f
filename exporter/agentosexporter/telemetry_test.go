package agentosexporter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/agentos-ai/agentos-otel/exporter/agentosexporter/internal/metadata"
	"github.com/agentos-ai/agentos-otel/exporter/agentosexporter/internal/metadatatest"
)

// The exporter records on the instruments mdatagen generates from
// metadata.yaml (names, units, descriptions), under the component's scope;
// the observable ones are reported through the core's callback while the
// exporter runs.
func TestGeneratedTelemetryIsRecorded(t *testing.T) {
	_, url := newLocalServer(t)
	o := newObserved(t)
	ctx := context.Background()
	cfg := testConfig(url)
	// Without the sending queue, ConsumeTraces hands spans to the core
	// before it returns.
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	exp, err := NewFactory().CreateTraces(ctx, o.settings(), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(ctx, componenttest.NewNopHost()))

	// A child whose root has not arrived is held, in one open trace.
	orphan := oneRun(3)
	orphan.ResourceSpans().At(0).ScopeSpans().At(0).Spans().RemoveIf(func(s ptrace.Span) bool {
		return s.ParentSpanID().IsEmpty()
	})
	require.NoError(t, exp.ConsumeTraces(ctx, orphan))
	metadatatest.AssertEqualSpansHeld(t, o.tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualTracesOpen(t, o.tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	assert.Equal(t, []string{metadata.ScopeName}, scopesOf(t, o.tel, "agentos.spans.held", "agentos.runs.may_exist"))

	// Its root completes the run.
	require.NoError(t, exp.ConsumeTraces(ctx, oneRun(3)))
	require.NoError(t, exp.Shutdown(ctx))
	metadatatest.AssertEqualRunsStarted(t, o.tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualRunsCompleted(t, o.tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualEventsSent(t, o.tel, []metricdata.DataPoint[int64]{{Value: 2}}, metricdatatest.IgnoreTimestamp())
	assert.Equal(t, []string{metadata.ScopeName}, scopesOf(t, o.tel, "agentos.runs.started", "agentos.events.sent"))
}

// scopesOf lists the distinct instrumentation scopes the named metrics
// were reported under.
func scopesOf(t *testing.T, tel *componenttest.Telemetry, names ...string) []string {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, tel.Reader.Collect(context.Background(), &rm))
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	seen := map[string]bool{}
	var scopes []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if want[m.Name] && !seen[sm.Scope.Name] {
				seen[sm.Scope.Name] = true
				scopes = append(scopes, sm.Scope.Name)
			}
		}
	}
	return scopes
}
