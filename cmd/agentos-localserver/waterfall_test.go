package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

// TestWaterfall lays out spans the example agent never makes: nested
// three deep, a span whose start was not sent (placed from its
// duration_ms), one still open, one whose parent is unknown, a cycle of
// parents, and span events as marks.
func TestWaterfall(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	var events []localserver.RecordedEvent
	ev := func(ms int, typ, level, payload string) {
		events = append(events, localserver.RecordedEvent{SequenceNumber: int64(len(events) + 1),
			Event: agentosapi.Event{Type: typ, Level: level, OccurredAt: t0.Add(time.Duration(ms) * time.Millisecond).Format(time.RFC3339Nano), Payload: json.RawMessage(payload)}})
	}
	ev(0, "agent.started", "", `{"span_id":"a","parent_span_id":"r","span_name":"planner"}`)
	ev(10, "llm.request", "", `{"span_id":"l","parent_span_id":"a","model":"m-1"}`)
	ev(30, "llm.response", "", `{"span_id":"l","parent_span_id":"a","model":"m-1-v2","input_tokens":7,"output_tokens":3}`)
	ev(40, "step.started", "", `{"span_id":"s","parent_span_id":"a","span_name":"search"}`)
	ev(45, "cache.miss", "", `{"span_id":"s","parent_span_id":"a"}`)
	ev(50, "tool.called", "", `{"span_id":"t","parent_span_id":"s","tool":"web"}`)
	ev(60, "exception", "error", `{"span_id":"t","parent_span_id":"s"}`)
	ev(70, "tool.failed", "error", `{"span_id":"t","parent_span_id":"s","tool":"web"}`)
	ev(80, "step.completed", "", `{"span_id":"late","parent_span_id":"a","duration_ms":20}`) // started at 60
	ev(85, "agent.completed", "", `{"span_id":"a","parent_span_id":"r"}`)
	ev(90, "step.started", "", `{"span_id":"orphan","parent_span_id":"gone"}`) // never ends
	ev(95, "step.started", "", `{"span_id":"c1","parent_span_id":"c2"}`)
	ev(96, "step.started", "", `{"span_id":"c2","parent_span_id":"c1"}`)
	ev(100, "run.note", "", `{"span_id":"r"}`) // a root span event

	run := localserver.Run{ID: "run", Status: localserver.StatusCompleted, Input: json.RawMessage(`{"span_id":"r","name":"invoke_agent x","started_at":"2026-05-01T10:00:00Z"}`)}
	sum := localserver.RunSummary{Status: run.Status, StartedAt: t0.Add(time.Second), EndedAt: t0.Add(time.Second), EventCount: len(events),
		FirstEventAt: t0, LastEventAt: t0.Add(100 * time.Millisecond)}
	w := buildWaterfall(&run, sum, events, false, func(int64) string { return "" }, func(int64) string { return "" })

	var got []string
	for _, r := range w.Rows {
		x, _ := strconv.ParseFloat(r.X, 64)
		got = append(got, fmt.Sprintf("%s%s %s %s x=%.0f marks=%d", strings.Repeat(".", r.Depth), r.ID, r.Kind, r.Status, x, len(r.Marks)))
	}
	want := []string{
		"r run ok x=0 marks=1",
		".a agent ok x=0 marks=0",
		"..l llm ok x=100 marks=0",
		"..s step open x=400 marks=1",
		"...t tool error x=500 marks=1",
		"..late step ok x=600 marks=0",
		".orphan step open x=900 marks=0",
		".c1 step open x=950 marks=0",
		"..c2 step open x=960 marks=0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if l := w.Rows[2]; l.Model != "m-1-v2" || l.InputTokens != 7 || l.OutputTokens != 3 || l.Duration != "20.000 ms" {
		t.Errorf("the llm row: %+v", l)
	}
	if tool := w.Rows[4]; tool.Tool != "web" || tool.Marks[0].Level != "error" || tool.Marks[0].X != "598.50" {
		t.Errorf("the tool row: tool %q, marks %+v", tool.Tool, tool.Marks)
	}
	if len(w.Ticks) != 5 || w.Ticks[4] != "+100.000 ms" {
		t.Errorf("ticks %v", w.Ticks)
	}
}
