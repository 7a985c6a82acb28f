package runtracker_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

func str(k, v string) spans.Attr { return spans.Attr{Key: k, Value: spans.StringValue(v)} }

// liveStep is a span start or end the live processor hands the tracker;
// attrs replace the span's attributes as they are at that moment.
type liveStep struct {
	span   int // index into the case's spans
	end    bool
	attrs  []spans.Attr
	failed string // status message of a failed end
}

// timeline runs steps through a live tracker, closes everything and
// returns the run's events as "type payload".
func timeline(t *testing.T, opts runtracker.Options, parents []int, names []string, steps []liveStep, shutdown bool) ([]string, []runtracker.Op) {
	t.Helper()
	m, err := mapping.New(mapping.Options{DefaultAgentID: goldenAgent})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := runtracker.New(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	tid := spans.TraceID{7}
	now := t0
	var ops []runtracker.Op
	for _, st := range steps {
		now = now.Add(time.Millisecond)
		s := spans.Span{TraceID: tid, SpanID: spans.SpanID{byte(st.span + 1)}, Name: names[st.span],
			StartTime: t0.Add(time.Duration(st.span) * time.Microsecond), Attrs: st.attrs}
		if p := parents[st.span]; p >= 0 {
			s.ParentSpanID = spans.SpanID{byte(p + 1)}
		}
		if st.end {
			s.EndTime = now.Add(-time.Microsecond) // processed a moment after it ended
			if st.failed != "" {
				s.StatusCode, s.StatusMessage = spans.StatusError, st.failed
			}
			ops = append(ops, tk.Ended(now, &s)...)
		} else {
			ops = append(ops, tk.Started(now, &s)...)
		}
	}
	if shutdown {
		ops = append(ops, tk.Shutdown(now.Add(time.Second))...)
	} else {
		ops = append(ops, tk.Tick(now.Add(time.Hour))...)
	}
	var got []string
	for _, op := range ops {
		for _, e := range op.Events {
			got = append(got, e.Type+" "+string(e.Payload))
		}
	}
	return got, ops
}

// field reads one top-level payload field as JSON text.
func field(t *testing.T, event, name string) string {
	t.Helper()
	_, payload, _ := strings.Cut(event, " ")
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(payload), &m); err != nil {
		t.Fatalf("payload of %q: %v", event, err)
	}
	return string(m[name])
}

const notEnded = `"the span's end was not seen before its run closed"`

// ev is an expected event: its type and some payload fields as JSON text.
type ev struct {
	typ    string
	fields map[string]string
}

func TestLiveEventsAlwaysPair(t *testing.T) {
	op := func(v string) spans.Attr { return str("gen_ai.operation.name", v) }
	for _, tc := range []struct {
		name     string
		parents  []int
		names    []string
		steps    []liveStep
		shutdown bool
		want     []ev
	}{
		{
			name:    "ADK merged tool span: execute_tool only at the end",
			parents: []int{-1, 0}, names: []string{"invoke_agent root", "execute_tool (merged)"},
			steps: []liveStep{
				{span: 0, attrs: []spans.Attr{op("invoke_agent")}},
				{span: 1},
				{span: 1, end: true, attrs: []spans.Attr{op("execute_tool"), str("gen_ai.tool.name", "(merged tools)")}},
				{span: 0, end: true, attrs: []spans.Attr{op("invoke_agent")}},
			},
			want: []ev{
				{"step.started", map[string]string{"name": `"execute_tool (merged)"`}},
				{"step.completed", map[string]string{"span_type": `"tool"`, "tool": `"(merged tools)"`, "status": `"unset"`}},
			},
		},
		{
			name:    "LLM operation set after start",
			parents: []int{-1, 0}, names: []string{"root", "chat m"},
			steps: []liveStep{
				{span: 0}, {span: 1},
				{span: 1, end: true, attrs: []spans.Attr{op("chat"), str("gen_ai.request.model", "m")}},
				{span: 0, end: true},
			},
			want: []ev{{"step.started", map[string]string{"name": `"chat m"`}}, {"step.completed", map[string]string{"span_type": `"llm"`, "model": `"m"`}}},
		},
		{
			name:    "tool known at start keeps its pair though its end looks like a step",
			parents: []int{-1, 0}, names: []string{"root", "lookup"},
			steps: []liveStep{
				{span: 0}, {span: 1, attrs: []spans.Attr{op("execute_tool"), str("gen_ai.tool.name", "lookup")}},
				{span: 1, end: true, failed: "boom"},
				{span: 0, end: true},
			},
			want: []ev{{"tool.called", map[string]string{"tool": `"lookup"`}}, {"tool.failed", map[string]string{"tool": `"lookup"`, "error": `"boom"`}}},
		},
		{
			name:    "agent fails",
			parents: []int{-1, 0}, names: []string{"root", "invoke_agent sub"},
			steps: []liveStep{
				{span: 0}, {span: 1, attrs: []spans.Attr{op("invoke_agent")}},
				{span: 1, end: true, failed: "no"},
				{span: 0, end: true},
			},
			want: []ev{{"agent.started", map[string]string{"agent": `"invoke_agent sub"`}}, {"agent.failed", map[string]string{"error": `"no"`}}},
		},
		{
			name:    "start not seen (dropped): both events at the end, typed by the end",
			parents: []int{-1, 0}, names: []string{"root", "execute_tool t"},
			steps: []liveStep{
				{span: 0},
				{span: 1, end: true, attrs: []spans.Attr{op("execute_tool")}},
				{span: 0, end: true},
			},
			want: []ev{{"tool.called", map[string]string{"tool": `"execute_tool t"`}}, {"tool.returned", map[string]string{"tool": `"execute_tool t"`}}},
		},
		{
			name:    "end not seen: a failed end when the run closes",
			parents: []int{-1, 0}, names: []string{"root", "chat m"},
			steps: []liveStep{
				{span: 0}, {span: 1, attrs: []spans.Attr{op("chat")}},
				{span: 0, end: true},
			},
			want: []ev{{"llm.request", nil}, {"llm.response", map[string]string{"error": notEnded}}},
		},
		{
			name:    "root never ends: shutdown pairs the open child",
			parents: []int{-1, 0, 1}, names: []string{"root", "step a", "execute_tool t"},
			steps: []liveStep{
				{span: 0}, {span: 1}, {span: 2, attrs: []spans.Attr{op("execute_tool")}},
				{span: 2, end: true},
			},
			shutdown: true,
			want:     []ev{{"step.started", map[string]string{"name": `"step a"`}}, {"tool.called", nil}, {"tool.returned", nil}, {"step.failed", map[string]string{"error": notEnded}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := timeline(t, runtracker.Options{Grace: time.Second}, tc.parents, tc.names, tc.steps, tc.shutdown)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d events, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i, w := range tc.want {
				if typ, _, _ := strings.Cut(got[i], " "); typ != w.typ {
					t.Errorf("event %d: got %s, want type %s", i, got[i], w.typ)
					continue
				}
				for k, v := range w.fields {
					if g := field(t, got[i], k); g != v {
						t.Errorf("event %d %s: %s = %s, want %s", i, w.typ, k, g, v)
					}
				}
			}
		})
	}
}

func TestLivePastSpanBoundStillPairs(t *testing.T) {
	// With a bound of 2 nodes the second child is not remembered at its
	// start: its start event is sent with its end.
	got, _ := timeline(t, runtracker.Options{Grace: time.Second, MaxSpansPerTrace: 2},
		[]int{-1, 0, 0}, []string{"root", "a", "b"},
		[]liveStep{{span: 0}, {span: 1}, {span: 2}, {span: 2, end: true}, {span: 1, end: true}, {span: 0, end: true}}, false)
	var types []string
	for _, e := range got {
		typ, _, _ := strings.Cut(e, " ")
		types = append(types, typ)
	}
	if g := strings.Join(types, ","); g != "step.started,step.started,step.completed,step.completed" {
		t.Fatalf("events %s", g)
	}
}

func TestLiveMaxRunDuration(t *testing.T) {
	m, _ := mapping.New(mapping.Options{DefaultAgentID: goldenAgent})
	tk, _ := runtracker.New(m, runtracker.Options{MaxRunDuration: time.Minute})
	root := spans.Span{TraceID: spans.TraceID{3}, SpanID: spans.SpanID{1}, Name: "root", StartTime: t0}
	child := spans.Span{TraceID: root.TraceID, SpanID: spans.SpanID{2}, ParentSpanID: root.SpanID, Name: "wait", StartTime: t0}
	if k := kinds(tk.Started(t0, &root)); len(k) != 1 {
		t.Fatalf("root start: %v", k)
	}
	tk.Started(t0, &child)
	if k := kinds(tk.Tick(t0.Add(59 * time.Second))); len(k) != 1 || k[0] != "events step.started" {
		t.Fatalf("before the maximum: %v", k)
	}
	ops := tk.Tick(t0.Add(time.Minute))
	if k := kinds(ops); len(k) != 2 || k[0] != "events step.failed" || k[1] != "close" {
		t.Fatalf("at the maximum: %v", k)
	}
	c := ops[1].Close
	if !c.Fail || !strings.Contains(c.ErrorMessage, "maximum run duration (1m0s)") {
		t.Fatalf("close %+v", c)
	}
	root.EndTime = t0.Add(2 * time.Minute)
	if k := kinds(tk.Ended(t0.Add(2*time.Minute), &root)); len(k) != 0 {
		t.Fatalf("late root end: %v", k)
	}
	if st := tk.Stats(); st.RunsFailed != 1 || st.OpenTraces != 0 || st.SpansLate != 1 {
		t.Fatalf("stats %+v", st)
	}
}
