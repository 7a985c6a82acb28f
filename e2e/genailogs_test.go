//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
)

// TestCollectorGenAILogs: an instrumentation that logs its GenAI content
// (as @opentelemetry/instrumentation-openai does) through genai-logs.yaml.
// Each chat span is exported before its records, and its root after them:
// whether a record reaches the exporter before its span or just after it,
// it becomes the span's content.
func TestCollectorGenAILogs(t *testing.T) {
	a := startAgentOS(t, map[string]string{agentA: keyA})
	otlp := freeAddr(t)
	collector(t, binary(t, "OTELCOL_AGENTOS"), "genai-logs.yaml",
		"OTLP_HTTP_ENDPOINT="+otlp, "AGENTOS_ENDPOINT="+a.URL, "AGENTOS_API_KEY="+keyA, "AGENTOS_AGENT_ID="+agentA)
	ctx := context.Background()
	tp := newTracerProvider(t, otlp, "e2e-openai")
	tr := tp.Tracer("e2e")
	const n = 10
	start := time.Now()
	for i := range n {
		rctx, root := tr.Start(ctx, "invoke_agent travel", trace.WithAttributes(semconv.GenAIOperationNameInvokeAgent))
		_, chat := tr.Start(rctx, "chat gpt-test", trace.WithAttributes(semconv.GenAIOperationNameChat, semconv.GenAIRequestModel("gpt-test")))
		chat.End()
		if err := tp.ForceFlush(ctx); err != nil {
			t.Fatal(err)
		}
		at := start.Add(time.Duration(i) * time.Millisecond)
		postLogs(t, otlp, chat.SpanContext(), []genAIRecord{
			{"gen_ai.user.message", at, map[string]string{"content": fmt.Sprintf("question %d", i)}},
			{"gen_ai.choice", at.Add(time.Microsecond), map[string]string{"finish_reason": "stop"}},
		})
		root.End()
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	runs := a.waitForRuns(t, n)
	seen := map[string]bool{}
	for _, r := range runs {
		var types []string
		var payloads []byte
		for _, e := range r.Events {
			types = append(types, e.Type)
			b, _ := json.Marshal(e.Payload)
			payloads = append(payloads, b...)
		}
		if got := strings.Join(types, ","); got != "llm.request,llm.response" {
			t.Errorf("run %s: events %s, want the records consumed, not sent as events", r.ExternalRunID, got)
		}
		for i := range n {
			if bytes.Contains(payloads, []byte(`"content":"question `+strconv.Itoa(i)+`"`)) {
				seen[r.ExternalRunID] = true
			}
		}
		if !bytes.Contains(payloads, []byte(`"finish_reasons":["stop"]`)) {
			t.Errorf("run %s: no finish reason in %s", r.ExternalRunID, payloads)
		}
	}
	if len(seen) != n {
		t.Errorf("%d of %d runs have their prompt", len(seen), n)
	}
	checkNothingRejected(t, a)
}

type genAIRecord struct {
	event string
	at    time.Time
	body  map[string]string
}

// postLogs sends records for the span over OTLP/HTTP JSON, as an SDK's log
// exporter would.
func postLogs(t *testing.T, otlpAddr string, sc trace.SpanContext, recs []genAIRecord) {
	t.Helper()
	type kv struct {
		Key   string         `json:"key"`
		Value map[string]any `json:"value"`
	}
	var records []map[string]any
	for _, r := range recs {
		var body []kv
		for k, v := range r.body {
			body = append(body, kv{k, map[string]any{"stringValue": v}})
		}
		records = append(records, map[string]any{
			"timeUnixNano": strconv.FormatInt(r.at.UnixNano(), 10),
			"eventName":    r.event,
			"traceId":      sc.TraceID().String(),
			"spanId":       sc.SpanID().String(),
			"body":         map[string]any{"kvlistValue": map[string]any{"values": body}},
		})
	}
	doc := map[string]any{"resourceLogs": []any{map[string]any{
		"resource":  map[string]any{"attributes": []kv{{"service.name", map[string]any{"stringValue": "e2e-openai"}}}},
		"scopeLogs": []any{map[string]any{"scope": map[string]any{"name": "openai"}, "logRecords": records}},
	}}}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+otlpAddr+"/v1/logs", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/logs: %s", resp.Status)
	}
}
