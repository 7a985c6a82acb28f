package agentosexporter

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agentos-ai/agentos-otel/internal/logjoin"
)

// genAILogs are the GenAI log records an instrumentation such as
// @opentelemetry/instrumentation-openai emits for oneRun(id)'s chat span,
// plus an application log line and a record for a span never sent.
func genAILogs(id byte) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	rec := func(name string, at time.Duration, span pcommon.SpanID) plog.LogRecord {
		lr := lrs.AppendEmpty()
		lr.SetEventName(name)
		lr.SetTimestamp(ts(at))
		lr.SetTraceID(pcommon.TraceID{id, 0xa, 0xb})
		lr.SetSpanID(span)
		lr.Attributes().PutStr("gen_ai.system", "openai")
		return lr
	}
	chat := pcommon.SpanID{id, 2}
	user := rec("gen_ai.user.message", time.Millisecond, chat)
	user.Body().SetEmptyMap().PutStr("content", "What is the weather in Paris?")
	choice := rec("gen_ai.choice", 2*time.Millisecond, chat)
	body := choice.Body().SetEmptyMap()
	body.PutInt("index", 0)
	body.PutStr("finish_reason", "stop")
	msg := body.PutEmptyMap("message")
	msg.PutStr("role", "assistant")
	msg.PutStr("content", "Sunny, 18 °C.")
	app := rec("", time.Millisecond, chat)
	app.Body().SetStr("GET /weather 200")
	never := rec("gen_ai.user.message", time.Millisecond, pcommon.SpanID{id, 9})
	never.Body().SetEmptyMap().PutStr("content", "lost")
	return ld
}

// startLogsAndTraces starts the logs and traces sides of one exporter
// instance, as a Collector with both pipelines does.
func startLogsAndTraces(t *testing.T, cfg *Config, o observed) (exporter.Logs, exporter.Traces) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, cfg.Validate())
	logsExp, err := NewFactory().CreateLogs(ctx, o.settings(), cfg)
	require.NoError(t, err)
	tracesExp, err := NewFactory().CreateTraces(ctx, o.settings(), cfg)
	require.NoError(t, err)
	host := componenttest.NewNopHost()
	require.NoError(t, logsExp.Start(ctx, host))
	require.NoError(t, tracesExp.Start(ctx, host))
	return logsExp, tracesExp
}

// TestLogsMeetTheirSpans: one exporter instance serves a logs and a traces
// pipeline; GenAI records that come before their span become its content,
// in the AgentOS requests, and are not sent again as events; a record
// whose span never comes, or that comes after its span, is counted and
// logged once per trace, never sent.
func TestLogsMeetTheirSpans(t *testing.T) {
	srv, url := newLocalServer(t)
	o := newObserved(t)
	ctx := context.Background()
	cfg := testConfig(url)
	logsExp, tracesExp := startLogsAndTraces(t, cfg, o)

	require.NoError(t, logsExp.ConsumeLogs(ctx, genAILogs(1)))
	require.NoError(t, tracesExp.ConsumeTraces(ctx, oneRun(1)))
	// The traces go through the sending queue: wait until the run is
	// known, then the same records come again, now after their span.
	require.Eventually(t, func() bool { return len(srv.Runs()) == 1 }, 5*time.Second, time.Millisecond)
	require.NoError(t, logsExp.ConsumeLogs(ctx, genAILogs(1)))
	require.NoError(t, tracesExp.Shutdown(ctx))
	require.NoError(t, logsExp.Shutdown(ctx)) // the second shutdown of the shared instance does nothing

	runs := srv.Runs()
	require.Len(t, runs, 1)
	var types []string
	var request, response string
	for _, e := range runs[0].Events {
		types = append(types, e.Type)
		switch e.Type {
		case "llm.request":
			request = string(e.Payload)
		case "llm.response":
			response = string(e.Payload)
		}
	}
	assert.Equal(t, []string{"llm.request", "llm.response"}, types, "consumed records are not sent as events too")
	assert.Contains(t, request, `"prompt":[{"role":"user","content":"What is the weather in Paris?"}]`)
	assert.Contains(t, response, `"response":[{"role":"assistant","content":"Sunny, 18 °C."}]`)
	assert.Contains(t, response, `"finish_reasons":["stop"]`)
	for _, r := range runs {
		assert.NotContains(t, string(r.Output)+string(r.Input), "lost")
	}

	// The second user and choice records came after their span; both
	// copies of the record for a span never sent were held, then dropped
	// as orphans at shutdown. The application line is not GenAI content
	// and not counted.
	assert.Equal(t, int64(4), o.counter(t, "agentos.log_records.dropped"))
	var lines []string
	for _, e := range o.logs.FilterMessage("GenAI log records not attached to their span").All() {
		lines = append(lines, e.ContextMap()["reason"].(string))
	}
	assert.Equal(t, []string{logjoin.ReasonAfterSpan}, lines, "one line per trace")
}

// TestLogsAfterTheirSpanJoinWhileTheRunIsOpen: a record that comes after
// its span is still that span's content while the span waits for its root,
// or its run for the grace period to end.
func TestLogsAfterTheirSpanJoinWhileTheRunIsOpen(t *testing.T) {
	srv, url := newLocalServer(t)
	o := newObserved(t)
	ctx := context.Background()
	cfg := testConfig(url)
	cfg.Timing.GracePeriod = time.Hour // closed by Shutdown only
	logsExp, tracesExp := startLogsAndTraces(t, cfg, o)
	accepted := func(n int64) func() bool {
		return func() bool { return sharedFor(cfg, o.settings()).p.Stats().SpansAccepted == n }
	}

	// Run 1: its chat span waits for the root; run 2: whole, in its grace.
	run1 := oneRun(1)
	root1 := ptrace.NewTraces()
	run1.ResourceSpans().At(0).ScopeSpans().At(0).Spans().RemoveIf(func(s ptrace.Span) bool {
		if s.ParentSpanID().IsEmpty() {
			s.CopyTo(root1.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty())
			return true
		}
		return false
	})
	require.NoError(t, tracesExp.ConsumeTraces(ctx, run1))
	require.NoError(t, tracesExp.ConsumeTraces(ctx, oneRun(2)))
	require.Eventually(t, accepted(3), 5*time.Second, time.Millisecond)
	require.NoError(t, logsExp.ConsumeLogs(ctx, genAILogs(1)))
	require.NoError(t, logsExp.ConsumeLogs(ctx, genAILogs(2)))
	require.NoError(t, tracesExp.ConsumeTraces(ctx, root1))
	require.Eventually(t, accepted(4), 5*time.Second, time.Millisecond)
	require.Empty(t, srv.Runs(), "the runs are open")
	require.NoError(t, tracesExp.Shutdown(ctx))
	require.NoError(t, logsExp.Shutdown(ctx))

	runs := srv.Runs()
	require.Len(t, runs, 2)
	for _, r := range runs {
		var types []string
		var payloads string
		for _, e := range r.Events {
			types = append(types, e.Type)
			payloads += string(e.Payload)
		}
		assert.Equal(t, []string{"llm.request", "llm.response"}, types, r.ExternalRunID)
		assert.Contains(t, payloads, `"prompt":[{"role":"user","content":"What is the weather in Paris?"}]`, r.ExternalRunID)
		assert.Contains(t, payloads, `"finish_reasons":["stop"]`, r.ExternalRunID)
	}
	// Only the records for the span never sent are dropped, as orphans.
	assert.Equal(t, int64(2), o.counter(t, "agentos.log_records.dropped"))
	for _, e := range o.logs.FilterMessage("GenAI log records not attached to their span").All() {
		assert.Equal(t, logjoin.ReasonOrphan, e.ContextMap()["reason"])
	}
}
