//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
)

const (
	agentA = "3b241101-e2bb-4255-8caf-4136c566a962"
	agentB = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
	keyA   = "aos_agent_e2e_a"
	keyB   = "aos_agent_e2e_b"
)

// sentRun is what one agent turn should become in AgentOS.
type sentRun struct {
	traceID string
	failed  bool
}

// The timeline every run must show, in this order: the chat span's start
// and end, then the tool span's start, its span event and its end.
var wantEvents = []string{"llm.request", "llm.response", "tool.called", "cache.miss", "tool.returned"}

// sendTraces runs n agent turns (see agentTurn) and exports them over
// OTLP/HTTP to otlpAddr.
func sendTraces(t *testing.T, otlpAddr string, n int) []sentRun {
	t.Helper()
	ctx := context.Background()
	tp := newTracerProvider(t, otlpAddr, "e2e-agent")
	tr := tp.Tracer("e2e")
	sent := make([]sentRun, 0, n)
	start := time.Now()
	for i := range n {
		sent = append(sent, agentTurn(ctx, tr, start, i, nil))
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	return sent
}

// newTracerProvider exports over OTLP/HTTP to otlpAddr in batches of at
// most 50 ms. When its queue is full, ending a span waits rather than
// dropping it, so the test never loses what it claims to have sent.
func newTracerProvider(t *testing.T, otlpAddr, service string) *sdktrace.TracerProvider {
	t.Helper()
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpoint(otlpAddr), otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(semconv.ServiceName(service))
	return sdktrace.NewTracerProvider(sdktrace.WithResource(res),
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(50*time.Millisecond), sdktrace.WithBlocking()))
}

// agentTurn records turn i, GenAI-shaped: an invoke_agent root with a chat
// and an execute_tool child, which end (and so are exported) before the
// root; beforeRoot, if not nil, runs between the children's end and the
// root's. Every fifth turn fails.
func agentTurn(ctx context.Context, tr trace.Tracer, start time.Time, i int, beforeRoot func()) sentRun {
	// Timestamps are explicit and 1ms apart, so the expected order does
	// not depend on the clock's resolution.
	at := func(ms int) time.Time { return start.Add(time.Duration(i*10+ms) * time.Millisecond) }
	rctx, root := tr.Start(ctx, "invoke_agent travel", trace.WithTimestamp(at(0)), trace.WithAttributes(
		semconv.GenAIOperationNameInvokeAgent, semconv.GenAIAgentName("travel"),
		semconv.GenAIInputMessagesKey.String(fmt.Sprintf(`[{"role":"user","parts":[{"type":"text","content":"trip %d"}]}]`, i))))
	_, chat := tr.Start(rctx, "chat gpt-test", trace.WithTimestamp(at(1)), trace.WithAttributes(
		semconv.GenAIOperationNameChat, semconv.GenAIRequestModel("gpt-test"),
		semconv.GenAIUsageInputTokens(10), semconv.GenAIUsageOutputTokens(2)))
	chat.End(trace.WithTimestamp(at(2)))
	_, tool := tr.Start(rctx, "execute_tool lookup", trace.WithTimestamp(at(3)), trace.WithAttributes(
		semconv.GenAIOperationNameExecuteTool, semconv.GenAIToolName("lookup")))
	tool.AddEvent("cache.miss", trace.WithTimestamp(at(4)), trace.WithAttributes(attribute.Int("turn", i)))
	tool.End(trace.WithTimestamp(at(5)))
	if beforeRoot != nil {
		beforeRoot()
	}
	failed := i%5 == 4
	if failed {
		root.SetStatus(codes.Error, "run failed on purpose")
	}
	root.End(trace.WithTimestamp(at(6)))
	return sentRun{traceID: root.SpanContext().TraceID().String(), failed: failed}
}

// checkRuns asserts that every sent turn became exactly one closed run with
// the right status and its whole timeline in order, and that nothing else
// arrived. It returns how many runs each agent got.
func checkRuns(t *testing.T, sent []sentRun, runs []recordedRun) map[string]int {
	t.Helper()
	byTrace := map[string][]recordedRun{}
	for _, r := range runs {
		byTrace[r.ExternalRunID] = append(byTrace[r.ExternalRunID], r)
	}
	perAgent := map[string]int{}
	for _, s := range sent {
		got := byTrace[s.traceID]
		delete(byTrace, s.traceID)
		if len(got) != 1 {
			t.Errorf("trace %s became %d runs, want 1", s.traceID, len(got))
			continue
		}
		r := got[0]
		perAgent[r.AgentID]++
		switch {
		case s.failed && (r.Status != "failed" || r.ErrorMessage != "run failed on purpose"):
			t.Errorf("trace %s: status %s (%q), want failed with the root's message", s.traceID, r.Status, r.ErrorMessage)
		case !s.failed && r.Status != "completed":
			t.Errorf("trace %s: status %s (%q), want completed", s.traceID, r.Status, r.ErrorMessage)
		}
		types := make([]string, len(r.Events))
		for i, e := range r.Events {
			types[i] = e.Type
			if e.SequenceNumber != int64(i+1) {
				t.Errorf("trace %s: event %d has sequence number %d", s.traceID, i, e.SequenceNumber)
			}
			if i > 0 && e.OccurredAt.Before(r.Events[i-1].OccurredAt) {
				t.Errorf("trace %s: event %d (%s) occurred before the one received ahead of it", s.traceID, i, e.Type)
			}
			if e.Payload["span_id"] == nil || e.Payload["span_name"] == nil {
				t.Errorf("trace %s: event %s lacks span_id/span_name: %v", s.traceID, e.Type, e.Payload)
			}
		}
		if !slices.Equal(types, wantEvents) {
			t.Errorf("trace %s: timeline %s, want %s", s.traceID, strings.Join(types, ","), strings.Join(wantEvents, ","))
		}
	}
	for trace, rs := range byTrace {
		t.Errorf("unexpected run(s) for trace %q: %d", trace, len(rs))
	}
	return perAgent
}

func checkNothingRejected(t *testing.T, a *agentos) {
	t.Helper()
	if st := a.stats(t); st.Rejected != 0 {
		t.Errorf("the strict server rejected %d requests: %v", st.Rejected, st.Status)
	}
}

// TestCollector: OTLP/HTTP → otelcol-agentos → AgentOS, with the in-memory
// and the persistent (file_storage) sending queue, and with a logs pipeline
// beside the traces one.
func TestCollector(t *testing.T) {
	for _, config := range []string{"basic.yaml", "persistent-queue.yaml", "genai-logs.yaml"} {
		t.Run(config, func(t *testing.T) {
			a := startAgentOS(t, map[string]string{agentA: keyA})
			otlp := freeAddr(t)
			collector(t, binary(t, "OTELCOL_AGENTOS"), config,
				"OTLP_HTTP_ENDPOINT="+otlp, "AGENTOS_ENDPOINT="+a.URL, "AGENTOS_API_KEY="+keyA,
				"AGENTOS_AGENT_ID="+agentA, "STORAGE_DIR="+t.TempDir())
			const n = 20
			sent := sendTraces(t, otlp, n)
			perAgent := checkRuns(t, sent, a.waitForRuns(t, n))
			if perAgent[agentA] != n {
				t.Errorf("runs per agent %v", perAgent)
			}
			checkNothingRejected(t, a)
		})
	}
}
