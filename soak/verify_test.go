package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

const testSpans = 4 // root, an LLM call, a tool call, a step: 7 events

// record is a run record of run i holding the expected events at the
// given timeline positions, in that order.
func record(prefix [8]byte, i int, status string, positions ...int) localserver.Run {
	want := timeline(testSpans)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := localserver.Run{ExternalRunID: traceID(prefix, i).String(), Status: status, EndedAt: t0.Add(time.Hour)}
	for seq, p := range positions {
		payload, _ := json.Marshal(map[string]string{"span_id": want[p].spanID})
		r.Events = append(r.Events, localserver.RecordedEvent{SequenceNumber: int64(seq + 1),
			Event: agentosapi.Event{Type: want[p].typ, Payload: payload,
				OccurredAt: t0.Add(time.Duration(p) * time.Microsecond).Format(time.RFC3339Nano)}})
	}
	return r
}

func TestVerify(t *testing.T) {
	prefix, other := [8]byte{1}, [8]byte{2}
	all := []int{0, 1, 2, 3, 4, 5, 6}
	done := localserver.StatusCompleted
	for _, tc := range []struct {
		name    string
		runs    []localserver.Run
		want    verdict // only the counters below are compared
		relaxed bool
	}{
		{"all delivered", []localserver.Run{record(prefix, 0, done, all...), record(prefix, 1, done, all...)},
			verdict{}, true},
		{"a run missing", []localserver.Run{record(prefix, 0, done, all...)},
			verdict{missing: 1, lost: 7}, false},
		{"events lost, the rest in order", []localserver.Run{record(prefix, 0, done, 0, 2, 6), record(prefix, 1, done, all...)},
			verdict{lost: 4}, false},
		{"two events swapped", []localserver.Run{record(prefix, 0, done, 0, 2, 1, 3, 4, 5, 6), record(prefix, 1, done, all...)},
			verdict{outOfOrder: 1}, false},
		{"an event sent twice", []localserver.Run{record(prefix, 0, done, 0, 1, 1, 2, 3, 4, 5, 6), record(prefix, 1, done, all...)},
			verdict{extra: 1}, true},
		{"open and failed", []localserver.Run{record(prefix, 0, localserver.StatusRunning, all...), record(prefix, 1, localserver.StatusFailed, all...)},
			verdict{open: 1, failed: 1}, false},
		{"a duplicate the bridge never learned", []localserver.Run{
			record(prefix, 0, localserver.StatusRunning), record(prefix, 0, done, all...), record(prefix, 1, done, all...)},
			verdict{open: 1, duplicates: 1}, true},
		{"events split over two records", []localserver.Run{
			record(prefix, 0, done, 0, 1, 2), record(prefix, 0, done, 3, 4, 5, 6), record(prefix, 1, done, all...)},
			verdict{duplicates: 1}, true},
		{"three records", []localserver.Run{
			record(prefix, 0, done), record(prefix, 0, done), record(prefix, 0, done, all...), record(prefix, 1, done, all...)},
			verdict{duplicates: 1}, false},
		{"a stranger's run", []localserver.Run{record(prefix, 0, done, all...), record(prefix, 1, done, all...), record(other, 0, done, all...)},
			verdict{stray: 1}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := verify(tc.runs, localserver.Stats{Requests: map[string]int{"/x": 6}}, prefix, 2, testSpans)
			got := verdict{missing: v.missing, lost: v.lost, extra: v.extra, open: v.open, outOfOrder: v.outOfOrder,
				duplicates: v.duplicates, failed: v.failed, stray: v.stray}
			if got != tc.want {
				t.Fatalf("verdict %+v, want %+v", got, tc.want)
			}
			if v.relaxedOK() != tc.relaxed {
				t.Fatalf("relaxedOK %v, want %v (%+v)", v.relaxedOK(), tc.relaxed, v)
			}
			if v.requests != 6 {
				t.Fatalf("requests %d, want 6", v.requests)
			}
		})
	}
}

// TestTimeline: the expected timeline follows the children's kinds.
func TestTimeline(t *testing.T) {
	var types []string
	for _, e := range timeline(testSpans) {
		types = append(types, e.typ)
	}
	want := []string{"llm.request", "llm.response", "tool.called", "cache.miss", "tool.returned", "step.started", "step.completed"}
	if len(types) != len(want) {
		t.Fatalf("timeline %v, want %v", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("timeline %v, want %v", types, want)
		}
	}
}

// TestWorkloadThroughTheBridge: runs traced by the workload through the
// real exporter and processor reach the local server exactly as verify
// expects them.
func TestWorkloadThroughTheBridge(t *testing.T) {
	for _, fe := range []frontEnd{exporterFE, processorFE} {
		t.Run(string(fe), func(t *testing.T) {
			a, err := startAgentOS()
			if err != nil {
				t.Fatal(err)
			}
			defer a.close()
			prefix := [8]byte{7}
			cfg := loadConfig{FrontEnd: fe, Endpoint: a.url(), AgentID: soakAgentID, APIKey: soakAPIKey,
				TracePrefix: prefix, Runs: 5, Spans: 10}
			tp, _, err := newTracerProvider(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i := range cfg.Runs {
				emitRun(t.Context(), tp.Tracer("test"), traceID(prefix, i), cfg.Spans)
			}
			if err := tp.Shutdown(t.Context()); err != nil {
				t.Fatal(err)
			}
			v := verify(a.server.Runs(), a.server.Stats(), prefix, cfg.Runs, cfg.Spans)
			if v.violations() != 0 || v.lastClose.IsZero() {
				t.Fatalf("%+v", v)
			}
		})
	}
}
