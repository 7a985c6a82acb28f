package runtracker_test

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

const otherAgent = "00000000-0000-4000-8000-000000000002"

func opAttr(op string) spans.Attr {
	return spans.Attr{Key: "gen_ai.operation.name", Value: spans.StringValue(op)}
}

// traceSpan is a span of trace n: id 1 is the root, others its children.
func traceSpan(n uint64, id byte, parent byte, name string, attrs ...spans.Attr) spans.Span {
	var tid spans.TraceID
	binary.BigEndian.PutUint64(tid[8:], n)
	s := spans.Span{TraceID: tid, SpanID: spans.SpanID{id}, Name: name, StartTime: t0.Add(time.Duration(id) * time.Millisecond),
		EndTime: t0.Add(time.Second), Attrs: attrs}
	if parent != 0 {
		s.ParentSpanID = spans.SpanID{parent}
	}
	return s
}

func newSelecting(t *testing.T, mode mapping.SelectorMode, opts runtracker.Options) *runtracker.Tracker {
	t.Helper()
	m, err := mapping.New(mapping.Options{DefaultAgentID: goldenAgent, Selector: mapping.Selector{Mode: mode}})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := runtracker.New(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// TestRootAfterMaxWaitIsSelected: under a selector, children that no
// selector picks stay held past the maximum wait, and the selected root
// that comes later makes the run with them.
func TestRootAfterMaxWaitIsSelected(t *testing.T) {
	for _, mode := range []mapping.SelectorMode{mapping.SelectInvokeAgent, mapping.SelectHasAgentID} {
		t.Run(string(mode), func(t *testing.T) {
			tk := newSelecting(t, mode, runtracker.Options{MaxWait: time.Second, Grace: time.Second, OrphanTimeout: time.Minute})
			if ops := tk.Add(t0, []spans.Span{traceSpan(1, 2, 1, "chat", opAttr("chat"))}); len(ops) != 0 {
				t.Fatalf("ops for a held child: %q", kinds(ops))
			}
			for i := 1; i <= 30; i++ {
				if ops := tk.Tick(t0.Add(time.Duration(i) * time.Second)); len(ops) != 0 {
					t.Fatalf("ops at %ds, before the root: %q", i, kinds(ops))
				}
			}
			root := traceSpan(1, 1, 0, "invoke_agent a", opAttr("invoke_agent"),
				spans.Attr{Key: "agentos.agent_id", Value: spans.StringValue(otherAgent)})
			now := t0.Add(31 * time.Second)
			ops := append(tk.Add(now, []spans.Span{root}), tk.Tick(now.Add(time.Second))...)
			if got := strings.Join(kinds(ops), "|"); got != "run/start|events llm.request llm.response|close" {
				t.Fatalf("ops %q", got)
			}
			if ops[0].AgentID != otherAgent || ops[2].Close.Fail {
				t.Fatalf("run of agent %s, failed %v", ops[0].AgentID, ops[2].Close.Fail)
			}
			if st := tk.Stats(); st.SpansUnselected != 0 || st.SpansLate != 0 || st.OpenTraces != 0 || st.HeldSpans != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestRootRechecksRunStartedWithoutIt: a child that matches the selector
// starts the run at the maximum wait; the root that comes later decides.
func TestRootRechecksRunStartedWithoutIt(t *testing.T) {
	child := traceSpan(1, 2, 1, "invoke_agent sub", opAttr("invoke_agent"))
	straggler := traceSpan(1, 3, 1, "chat", opAttr("chat"))
	for _, tc := range []struct {
		name string
		root spans.Span
		// want is the ops once the root arrived and its grace ended.
		want          string
		failReason    string // of the run started without the root
		rootAgent     string
		unselected    int64
		orphanEndless bool
	}{
		{name: "selected, same agent: adopted", root: traceSpan(1, 1, 0, "invoke_agent a", opAttr("invoke_agent")),
			want: "events llm.request llm.response|close", rootAgent: goldenAgent},
		{name: "not selected: closed", root: traceSpan(1, 1, 0, "POST /chat"),
			want: "close", failReason: "the run selector does not select the root span", unselected: 2},
		{name: "other agent: closed, the root runs under its agent", root: traceSpan(1, 1, 0, "invoke_agent a", opAttr("invoke_agent"),
			spans.Attr{Key: "agentos.agent_id", Value: spans.StringValue(otherAgent)}),
			want: "close|run/start|events llm.request llm.response|close", failReason: "names agent " + otherAgent, rootAgent: otherAgent},
		{name: "no valid agent: closed", root: traceSpan(1, 1, 0, "invoke_agent a", opAttr("invoke_agent"),
			spans.Attr{Key: "agentos.agent_id", Value: spans.StringValue("nope")}),
			want: "close", failReason: "names no valid agent id", unselected: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tk := newSelecting(t, mapping.SelectInvokeAgent, runtracker.Options{MaxWait: time.Second, Grace: time.Second})
			tk.Add(t0, []spans.Span{child})
			if got := strings.Join(kinds(tk.Tick(t0.Add(time.Second))), "|"); got != "run/start|events agent.started agent.completed" {
				t.Fatalf("at the maximum wait: %q", got)
			}
			now := t0.Add(40 * time.Second)
			ops := tk.Add(now, []spans.Span{tc.root, straggler})
			ops = append(ops, tk.Tick(now.Add(time.Second))...)
			if got := strings.Join(kinds(ops), "|"); got != tc.want {
				t.Fatalf("ops %q, want %q", got, tc.want)
			}
			if tc.failReason != "" {
				if c := ops[0].Close; !c.Fail || !strings.Contains(c.ErrorMessage, tc.failReason) {
					t.Fatalf("first run closed %+v, want failed saying %q", c, tc.failReason)
				}
			}
			if tc.rootAgent != "" {
				last := ops[len(ops)-1]
				if last.Close.Fail || last.AgentID != tc.rootAgent {
					t.Fatalf("root's run closed %+v for agent %s, want completed for %s", last.Close, last.AgentID, tc.rootAgent)
				}
			}
			if st := tk.Stats(); st.SpansUnselected != tc.unselected || st.SpansLate != 0 || st.OpenTraces != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestParkedTraceIsRetired: spans no selector picks, whose root never
// comes, are let go after the orphan timeout of silence, counted as
// unselected, and so are their stragglers.
func TestParkedTraceIsRetired(t *testing.T) {
	tk := newSelecting(t, mapping.SelectInvokeAgent, runtracker.Options{MaxWait: time.Second, OrphanTimeout: 10 * time.Second})
	tk.Add(t0, []spans.Span{traceSpan(1, 2, 1, "chat", opAttr("chat"))})
	tk.Tick(t0.Add(time.Second))
	tk.Add(t0.Add(5*time.Second), []spans.Span{traceSpan(1, 3, 1, "chat", opAttr("chat"))})
	if tk.Tick(t0.Add(14 * time.Second)); tk.Stats().OpenTraces != 1 {
		t.Fatal("retired before the orphan timeout counted from its last span")
	}
	if ops := tk.Tick(t0.Add(15 * time.Second)); len(ops) != 0 {
		t.Fatalf("ops %q", kinds(ops))
	}
	tk.Add(t0.Add(16*time.Second), []spans.Span{traceSpan(1, 4, 1, "chat", opAttr("chat"))})
	st := tk.Stats()
	if st.OpenTraces != 0 || st.HeldSpans != 0 || st.Bytes != 0 || st.SpansUnselected != 3 || st.SpansLate != 0 {
		t.Fatalf("stats %+v", st)
	}
	if late, _ := tk.TakeLate(); len(late) != 0 {
		t.Fatalf("late report %+v for spans that had no run", late)
	}
}

// TestUnselectedFloodKeepsStartedRuns: rootless traces that nothing
// selects flood the tracker past MaxOpenRuns; they go, never the runs
// that have started (from the exporter's path or the live one).
func TestUnselectedFloodKeepsStartedRuns(t *testing.T) {
	const maxOpen = 4
	tk := newSelecting(t, mapping.SelectInvokeAgent, runtracker.Options{MaxWait: time.Second, Grace: time.Second,
		OrphanTimeout: time.Hour, MaxRunDuration: time.Hour, MaxOpenRuns: maxOpen, MaxHeldSpans: 1000})
	var ops []runtracker.Op
	// A live run, and a run started from a child that the selector picks.
	live := traceSpan(1, 1, 0, "invoke_agent live", opAttr("invoke_agent"))
	live.EndTime = time.Time{}
	ops = append(ops, tk.Started(t0, &live)...)
	ops = append(ops, tk.Add(t0, []spans.Span{traceSpan(2, 2, 1, "invoke_agent sub", opAttr("invoke_agent"))})...)
	ops = append(ops, tk.Tick(t0.Add(time.Second))...)
	now := t0.Add(2 * time.Second)
	for n := uint64(3); n < 2000; n++ {
		ops = append(ops, tk.Add(now, []spans.Span{traceSpan(n, 2, 1, "chat", opAttr("chat"))})...)
		if n%100 == 0 {
			now = now.Add(time.Second)
			ops = append(ops, tk.Tick(now)...)
		}
	}
	// And roots the live processor sees start that the selector does not
	// pick (health checks), never ending.
	for n := uint64(3000); n < 4000; n++ {
		check := traceSpan(n, 1, 0, "GET /health")
		check.EndTime = time.Time{}
		ops = append(ops, tk.Started(now, &check)...)
	}
	if got := strings.Join(kinds(ops), "|"); got != "run/start|run/start|events agent.started agent.completed" {
		t.Fatalf("ops %q", got)
	}
	st := tk.Stats()
	if st.RunsEvicted != 0 || st.OpenTraces > maxOpen || st.SpansUnselected == 0 {
		t.Fatalf("stats %+v", st)
	}
	if !tk.Tracking(live.TraceID) {
		t.Fatal("the live run's trace is no longer tracked")
	}
}

// TestHeldTracesGoBeforeStartedRuns: with every trace selected, traces
// whose spans wait for their root are evicted before a started run.
func TestHeldTracesGoBeforeStartedRuns(t *testing.T) {
	tk := newSelecting(t, mapping.SelectAll, runtracker.Options{MaxWait: time.Second, OrphanTimeout: time.Hour, MaxOpenRuns: 2})
	started := traceSpan(1, 2, 1, "chat", opAttr("chat"))
	tk.Add(t0, []spans.Span{started})
	tk.Tick(t0.Add(time.Second))
	for n := uint64(2); n < 50; n++ {
		for _, op := range tk.Add(t0.Add(2*time.Second), []spans.Span{traceSpan(n, 2, 1, "chat", opAttr("chat"))}) {
			if op.Kind == runtracker.OpClose && op.TraceID == started.TraceID {
				t.Fatalf("the started run was evicted at trace %d", n)
			}
		}
	}
	if !tk.Tracking(started.TraceID) {
		t.Fatal("the started run's trace is no longer tracked")
	}
	if st := tk.Stats(); st.RunsEvicted != 47 {
		t.Fatalf("%d runs evicted, want the 47 held traces pushed out", st.RunsEvicted)
	}
}

// TestTakeLate reports late spans per run with the external_run_id that
// its run/start sent, from a retired trace and from a closed run of a
// trace still open, and empties on take.
func TestTakeLate(t *testing.T) {
	tk := newSelecting(t, mapping.SelectAll, runtracker.Options{Grace: time.Second, RemoteParentIsRoot: true})
	named := traceSpan(1, 1, 0, "agent", spans.Attr{Key: "agentos.external_run_id", Value: spans.StringValue("order-42")})
	plain := traceSpan(2, 1, 0, "agent")
	tk.Add(t0, []spans.Span{named, plain})
	tk.Tick(t0.Add(time.Second))
	lateChild := traceSpan(1, 2, 1, "chat", opAttr("chat"))
	lateChild.Events = []spans.Event{{Name: "note", Time: t0}}
	tk.Add(t0.Add(2*time.Second), []spans.Span{lateChild, traceSpan(1, 3, 1, "chat"), traceSpan(2, 2, 1, "chat")})

	// Two remote-parent roots in trace 3: the first closes while the
	// second keeps the trace open.
	first, second := traceSpan(3, 1, 9, "in 1"), traceSpan(3, 2, 8, "in 2")
	first.ParentRemote, second.ParentRemote = true, true
	tk.Add(t0, []spans.Span{first})
	tk.Add(t0.Add(500*time.Millisecond), []spans.Span{second})
	tk.Tick(t0.Add(time.Second))
	tk.Add(t0.Add(1200*time.Millisecond), []spans.Span{traceSpan(3, 3, 1, "late to the first")})

	late, unlisted := tk.TakeLate()
	want := []runtracker.Late{
		{TraceID: named.TraceID, ExternalRunID: "order-42", Spans: 2, Events: 5},
		{TraceID: plain.TraceID, ExternalRunID: plain.TraceID.String(), Spans: 1, Events: 2},
		{TraceID: first.TraceID, ExternalRunID: first.TraceID.String(), Spans: 1, Events: 2},
	}
	if len(late) != len(want) || unlisted != 0 {
		t.Fatalf("late %+v, unlisted %d; want %+v", late, unlisted, want)
	}
	for i := range want {
		if late[i] != want[i] {
			t.Fatalf("late[%d] = %+v, want %+v", i, late[i], want[i])
		}
	}
	if st := tk.Stats(); st.SpansLate != 4 {
		t.Fatalf("SpansLate %d, want 4", st.SpansLate)
	}
	if again, _ := tk.TakeLate(); len(again) != 0 {
		t.Fatalf("second take %+v", again)
	}
}

// TestTakeLateIsBounded lists a bounded number of runs between takes and
// counts the rest.
func TestTakeLateIsBounded(t *testing.T) {
	tk := newSelecting(t, mapping.SelectAll, runtracker.Options{Grace: time.Second, MaxOpenRuns: 2000})
	const runs = 1100
	for n := uint64(1); n <= runs; n++ {
		tk.Add(t0, []spans.Span{traceSpan(n, 1, 0, "agent")})
	}
	tk.Tick(t0.Add(time.Second))
	for n := uint64(1); n <= runs; n++ {
		tk.Add(t0.Add(2*time.Second), []spans.Span{traceSpan(n, 2, 1, "chat"), traceSpan(n, 3, 1, "chat")})
	}
	late, unlisted := tk.TakeLate()
	if len(late) != 1024 || unlisted != 2*(runs-1024) {
		t.Fatalf("%d runs listed, %d spans unlisted", len(late), unlisted)
	}
	if late[0].Spans != 2 || late[0].Events != 4 {
		t.Fatalf("first %+v", late[0])
	}
}

// TestLiveLateIsReported: the live processor's spans that end after their
// run closed are reported too.
func TestLiveLateIsReported(t *testing.T) {
	tk := newSelecting(t, mapping.SelectAll, runtracker.Options{Grace: time.Second})
	root := traceSpan(1, 1, 0, "agent")
	root.EndTime = time.Time{}
	child := traceSpan(1, 2, 1, "chat")
	child.EndTime = time.Time{}
	tk.Started(t0, &root)
	tk.Started(t0, &child)
	root.EndTime = t0.Add(time.Second)
	tk.Ended(t0.Add(time.Second), &root)
	tk.Tick(t0.Add(3 * time.Second))
	child.EndTime = t0.Add(4 * time.Second)
	tk.Ended(t0.Add(4*time.Second), &child)
	late, _ := tk.TakeLate()
	if len(late) != 1 || late[0] != (runtracker.Late{TraceID: root.TraceID, ExternalRunID: root.TraceID.String(), Spans: 1, Events: 1}) {
		t.Fatalf("late %+v", late)
	}
}

// TestParkedTraceSurvivesReplay: the Collector's journal rebuilds the
// tracker after a restart by adding the stored spans again with their
// arrival times; a journal written before it recorded ticks gives none
// between them. A parked trace comes back
// held, is parked again by the first tick, and its root then makes the
// same run (same index, same events) as without the restart; a parked
// trace that is let go is reported retired, so its records are deleted.
func TestParkedTraceSurvivesReplay(t *testing.T) {
	opts := runtracker.Options{MaxWait: time.Second, Grace: time.Second, OrphanTimeout: time.Minute, ReportRetired: true}
	chunks := []struct {
		at    time.Time
		spans []spans.Span
	}{
		{t0, []spans.Span{traceSpan(1, 2, 1, "chat", opAttr("chat")), traceSpan(2, 2, 1, "chat", opAttr("chat"))}},
		{t0.Add(5 * time.Second), []spans.Span{traceSpan(1, 3, 1, "execute_tool", opAttr("execute_tool"))}},
	}
	root := traceSpan(1, 1, 0, "invoke_agent a", opAttr("invoke_agent"))
	rootAt := t0.Add(40 * time.Second)
	rootOps := func(tk *runtracker.Tracker) []runtracker.Op {
		return append(tk.Add(rootAt, []spans.Span{root}), tk.Tick(rootAt.Add(time.Second))...)
	}

	before := newSelecting(t, mapping.SelectInvokeAgent, opts)
	for i, c := range chunks {
		before.Add(c.at, c.spans)
		before.Tick(c.at.Add(time.Second))
		if i == 0 && before.Stats().HeldSpans != 2 {
			t.Fatalf("held %d spans after the maximum wait, want 2", before.Stats().HeldSpans)
		}
	}
	want := rootOps(before)

	after := newSelecting(t, mapping.SelectInvokeAgent, opts)
	for _, c := range chunks {
		after.Add(c.at, c.spans)
	}
	if ops := after.Tick(t0.Add(30 * time.Second)); len(ops) != 0 {
		t.Fatalf("ops at the first tick after the restart: %q", kinds(ops))
	}
	got := rootOps(after)
	if g, w := strings.Join(kinds(got), "|"), strings.Join(kinds(want), "|"); g != w || g != "run/start|events llm.request tool.called llm.response tool.returned|close" {
		t.Fatalf("after the restart %q, without %q", g, w)
	}
	if got[0].RunIndex != want[0].RunIndex || got[0].Start.ExternalRunID != want[0].Start.ExternalRunID {
		t.Fatalf("run index %d / %s after the restart, %d / %s without", got[0].RunIndex, got[0].Start.ExternalRunID, want[0].RunIndex, want[0].Start.ExternalRunID)
	}
	// Trace 2 never gets its root: let go after OrphanTimeout of silence,
	// and reported retired.
	after.TakeRetired()
	after.Tick(rootAt.Add(2 * time.Minute))
	if retired := after.TakeRetired(); len(retired) != 1 || retired[0] != chunks[0].spans[1].TraceID {
		t.Fatalf("retired %v, want trace 2", retired)
	}
	if st := after.Stats(); st.OpenTraces != 0 || st.SpansUnselected != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestParkedSpansWithoutParentJoinTheRoot: a parked span whose parent
// never comes joins the run of the trace's root when that comes; a remote
// root, which owns only its subtree, leaves it parked.
func TestParkedSpansWithoutParentJoinTheRoot(t *testing.T) {
	orphan := traceSpan(1, 3, 2, "chat", opAttr("chat")) // its parent, span 2, never comes
	for _, remote := range []bool{false, true} {
		tk := newSelecting(t, mapping.SelectInvokeAgent, runtracker.Options{MaxWait: time.Second, Grace: time.Second, OrphanTimeout: time.Minute})
		tk.Add(t0, []spans.Span{orphan})
		tk.Tick(t0.Add(time.Second))
		root := traceSpan(1, 1, 0, "invoke_agent a", opAttr("invoke_agent"))
		if remote {
			root.ParentSpanID, root.ParentRemote = spans.SpanID{9}, true
		}
		now := t0.Add(10 * time.Second)
		ops := append(tk.Add(now, []spans.Span{root}), tk.Tick(now.Add(time.Second))...)
		got := strings.Join(kinds(ops), "|")
		held := tk.Stats().HeldSpans
		if !remote && (got != "run/start|events llm.request llm.response|close" || held != 0) {
			t.Fatalf("root: ops %q, %d held", got, held)
		}
		if remote && (got != "run/start|close" || held != 1) {
			t.Fatalf("remote root: ops %q, %d held", got, held)
		}
	}
}
