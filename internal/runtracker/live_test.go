package runtracker_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

func kinds(ops []runtracker.Op) []string {
	var out []string
	for _, op := range ops {
		s := op.Kind.String()
		for _, e := range op.Events {
			s += " " + e.Type
		}
		out = append(out, s)
	}
	return out
}

func TestLiveRunLifecycle(t *testing.T) {
	m, _ := mapping.New(mapping.Options{DefaultAgentID: goldenAgent, Tasks: true})
	tk, _ := runtracker.New(m, runtracker.Options{Grace: time.Second})
	tid := spans.TraceID{9}
	root := spans.Span{TraceID: tid, SpanID: spans.SpanID{1}, Name: "invoke_agent a", StartTime: t0,
		Attrs: []spans.Attr{{Key: "gen_ai.operation.name", Value: spans.StringValue("invoke_agent")}}}
	tool := spans.Span{TraceID: tid, SpanID: spans.SpanID{2}, ParentSpanID: root.SpanID, Name: "execute_tool t", StartTime: t0.Add(time.Millisecond),
		Attrs: []spans.Attr{{Key: "gen_ai.operation.name", Value: spans.StringValue("execute_tool")}}}
	grandchild := spans.Span{TraceID: tid, SpanID: spans.SpanID{3}, ParentSpanID: tool.SpanID, Name: "query", StartTime: t0.Add(2 * time.Millisecond)}

	now := t0
	step := func(name string, ops []runtracker.Op, want ...string) {
		t.Helper()
		got := kinds(ops)
		if len(got) != len(want) {
			t.Fatalf("%s: got %q, want %q", name, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: got %q, want %q", name, got, want)
			}
		}
	}
	step("root starts: the run starts at once", tk.Started(now, &root), "run/start")
	step("child starts: queued", tk.Started(now, &tool))
	step("grandchild starts: queued", tk.Started(now, &grandchild))
	now = now.Add(100 * time.Millisecond)
	step("tick sends what started, in order", tk.Tick(now), "events tool.called step.started", "tasks", "tasks")
	grandchild.EndTime, tool.EndTime = now, now.Add(time.Millisecond)
	step("grandchild ends", tk.Ended(now, &grandchild))
	step("tool ends", tk.Ended(now, &tool))
	root.EndTime = now.Add(2 * time.Millisecond)
	step("root ends: no close before the grace period", tk.Ended(now, &root))
	step("tick inside grace sends events", tk.Tick(now.Add(500*time.Millisecond)), "events step.completed tool.returned", "tasks", "tasks")
	late := spans.Span{TraceID: tid, SpanID: spans.SpanID{4}, ParentSpanID: root.SpanID, Name: "late", StartTime: now, EndTime: now}
	step("straggler inside grace", tk.Ended(now.Add(600*time.Millisecond), &late))
	step("grace over: the straggler, whose start was not seen, gets both events", tk.Tick(now.Add(2*time.Second)), "events step.started step.completed", "tasks", "close")
	step("after close: late", tk.Ended(now.Add(3*time.Second), &late))
	if st := tk.Stats(); st.SpansLate != 1 || st.OpenTraces != 0 || st.RunsCompleted != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestLiveChildWithoutRunIsCounted(t *testing.T) {
	m, _ := mapping.New(mapping.Options{DefaultAgentID: goldenAgent})
	tk, _ := runtracker.New(m, runtracker.Options{})
	orphan := spans.Span{TraceID: spans.TraceID{1}, SpanID: spans.SpanID{2}, ParentSpanID: spans.SpanID{1}, StartTime: t0}
	if ops := tk.Started(t0, &orphan); len(ops) != 0 {
		t.Fatalf("ops for a span without a run: %v", kinds(ops))
	}
	if st := tk.Stats(); st.SpansNoRun != 1 || st.OpenTraces != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// step is a span started, or ended, in a sequence fed to trackers.
type step struct {
	s     spans.Span
	ended bool
}

// oneByOneAndLive feeds steps to one through Started and Ended, a span at
// a time, and to batch through one Live call, and returns what each made.
func oneByOneAndLive(one, batch *runtracker.Tracker, steps []step) (want, got []runtracker.Op) {
	for i := range steps {
		s := steps[i].s
		if steps[i].ended {
			want = append(want, one.Ended(t0, &s)...)
		} else {
			want = append(want, one.Started(t0, &s)...)
		}
	}
	got = batch.Live(t0, len(steps), func(i int) (*spans.Span, bool) {
		s := steps[i].s
		return &s, steps[i].ended
	})
	return want, got
}

// Live over a batch must return exactly the ops of Started and Ended called
// one span at a time: run starts, flushes of full timelines and their
// order included.
func TestLiveBatchMatchesOneByOne(t *testing.T) {
	var steps []step
	for r := range 3 {
		tid := spans.TraceID{byte(r + 1)}
		root := spans.Span{TraceID: tid, SpanID: spans.SpanID{0xff}, Name: "invoke_agent a", StartTime: t0,
			Attrs: []spans.Attr{{Key: "gen_ai.operation.name", Value: spans.StringValue("invoke_agent")}}}
		steps = append(steps, step{s: root})
		for c := range 600 { // past the flush threshold (512 events): flushes inside the batch
			s := spans.Span{TraceID: tid, SpanID: spans.SpanID{byte(c + 1), byte(c>>8) + 1}, ParentSpanID: root.SpanID,
				Name: "execute_tool t", StartTime: t0.Add(time.Duration(c) * time.Millisecond),
				Attrs: []spans.Attr{{Key: "gen_ai.operation.name", Value: spans.StringValue("execute_tool")}}}
			steps = append(steps, step{s: s})
			s.EndTime = s.StartTime.Add(time.Microsecond)
			steps = append(steps, step{s: s, ended: true})
		}
		root.EndTime = t0.Add(time.Second)
		steps = append(steps, step{s: root, ended: true})
	}
	newTracker := func() *runtracker.Tracker {
		m, _ := mapping.New(mapping.Options{DefaultAgentID: goldenAgent, Tasks: true})
		tk, _ := runtracker.New(m, runtracker.Options{Grace: time.Second})
		return tk
	}
	one, batch := newTracker(), newTracker()
	want, got := oneByOneAndLive(one, batch, steps)
	if len(want) < 6 {
		t.Fatalf("only %d ops one by one: the batch does not cover starts and flushes", len(want))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Live returned %d ops %q, one by one %d ops %q", len(got), kinds(got), len(want), kinds(want))
	}
	later := t0.Add(3 * time.Second)
	if a, b := batch.Tick(later), one.Tick(later); !reflect.DeepEqual(a, b) {
		t.Fatalf("after the batch, tick returned %q, one by one %q", kinds(a), kinds(b))
	}
}

// Live stages the payloads of the runs it touches (borrowed memory, copied
// out as the call ends): over calls that each touch more runs than it
// stages, what they and a later Flush return must be what Started and
// Ended make one span at a time, each run's prompts its own.
func TestLivePayloadsOutliveTheCall(t *testing.T) {
	// Runs 0-11 in the first call, 12-23 in the second: each run's
	// children have prompts of their own, which a reused buffer would
	// show in another run's events.
	call := func(first int) []step {
		var steps []step
		for r := first; r < first+12; r++ {
			tid := spans.TraceID{byte(r + 1)}
			root := spans.Span{TraceID: tid, SpanID: spans.SpanID{0xff}, Name: "invoke_agent a", StartTime: t0,
				Attrs: []spans.Attr{{Key: "gen_ai.operation.name", Value: spans.StringValue("invoke_agent")}}}
			steps = append(steps, step{s: root})
			for c := range 20 {
				s := spans.Span{TraceID: tid, SpanID: spans.SpanID{byte(c + 1)}, ParentSpanID: root.SpanID,
					Name: "chat m", StartTime: t0.Add(time.Duration(c) * time.Millisecond),
					Attrs: []spans.Attr{
						{Key: "gen_ai.operation.name", Value: spans.StringValue("chat")},
						{Key: "gen_ai.input.messages", Value: spans.StringValue(fmt.Sprintf(`[{"role":"user","parts":[{"type":"text","content":"run %d span %d"}]}]`, r, c))},
					}}
				steps = append(steps, step{s: s})
				s.EndTime = s.StartTime.Add(time.Microsecond)
				steps = append(steps, step{s: s, ended: true})
			}
			root.EndTime = t0.Add(time.Second)
			steps = append(steps, step{s: root, ended: true})
		}
		return steps
	}
	newTracker := func() *runtracker.Tracker {
		m, _ := mapping.New(mapping.Options{DefaultAgentID: goldenAgent})
		tk, _ := runtracker.New(m, runtracker.Options{Grace: time.Second})
		return tk
	}
	one, batch := newTracker(), newTracker()
	var want, got []runtracker.Op
	for _, steps := range [][]step{call(0), call(12)} {
		w, g := oneByOneAndLive(one, batch, steps)
		want, got = append(want, w...), append(got, g...)
	}
	want, got = append(want, one.Flush()...), append(got, batch.Flush()...)
	if n := len(kinds(want)); n != 3*24 {
		t.Fatalf("%d ops one by one, want a start, events and a close for each of 24 runs", n)
	}
	if !reflect.DeepEqual(got, want) {
		for i := range min(len(got), len(want)) {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("op %d: Live made %+v, one by one %+v", i, got[i], want[i])
			}
		}
		t.Fatalf("Live returned %d ops, one by one %d", len(got), len(want))
	}
}

// A Live call's op slice is sized by earlier Live calls, not by a Flush
// that closed many runs: delivery keeps the slice until its ops are sent.
func TestLiveOpsNotSizedByFlush(t *testing.T) {
	m, _ := mapping.New(mapping.Options{DefaultAgentID: goldenAgent})
	tk, _ := runtracker.New(m, runtracker.Options{Grace: time.Second})
	for r := range 40 {
		tid := spans.TraceID{byte(r + 1)}
		root := spans.Span{TraceID: tid, SpanID: spans.SpanID{1}, Name: "invoke_agent a", StartTime: t0}
		tk.Started(t0, &root)
		root.EndTime = t0
		tk.Ended(t0, &root)
	}
	if ops := tk.Flush(); len(ops) < 40 {
		t.Fatalf("flush: %d ops, want a close for each of 40 runs", len(ops))
	}
	root := spans.Span{TraceID: spans.TraceID{0xee}, SpanID: spans.SpanID{1}, Name: "invoke_agent a", StartTime: t0}
	ops := tk.Live(t0, 1, func(int) (*spans.Span, bool) { return &root, false })
	if len(ops) != 1 || cap(ops) > 8 {
		t.Fatalf("Live: %d ops in a slice of capacity %d", len(ops), cap(ops))
	}
}

// A new trace starts with the emptied node map of a retired one: nothing
// of the old trace may show through. Trace B reuses trace A's span ids,
// and its last span names a parent only A had: B must fare as it does in
// a tracker that never saw A.
func TestRetiredTraceNodesDoNotShowThrough(t *testing.T) {
	for _, children := range []int{10, 40} { // a slice of ids, then a map
		// liveRun runs root 1 with children 2..n+1, the last of them under
		// parent when it is valid.
		liveRun := func(tk *runtracker.Tracker, tid spans.TraceID, n int, parent spans.SpanID) []runtracker.Op {
			root := spans.Span{TraceID: tid, SpanID: spans.SpanID{1}, Name: "invoke_agent a", StartTime: t0,
				Attrs: []spans.Attr{{Key: "gen_ai.operation.name", Value: spans.StringValue("invoke_agent")}}}
			var steps []spans.Span
			var ended []bool
			steps, ended = append(steps, root), append(ended, false)
			for c := range n {
				s := spans.Span{TraceID: tid, SpanID: spans.SpanID{byte(c + 2)}, ParentSpanID: root.SpanID, Name: "step", StartTime: t0}
				if parent.IsValid() && c == n-1 {
					s.ParentSpanID = parent
				}
				steps, ended = append(steps, s), append(ended, false)
				s.EndTime = t0
				steps, ended = append(steps, s), append(ended, true)
			}
			root.EndTime = t0
			steps, ended = append(steps, root), append(ended, true)
			ops := tk.Live(t0, len(steps), func(i int) (*spans.Span, bool) { return &steps[i], ended[i] })
			return append(ops, tk.Flush()...)
		}
		newTracker := func() *runtracker.Tracker {
			m, _ := mapping.New(mapping.Options{DefaultAgentID: goldenAgent})
			tk, _ := runtracker.New(m, runtracker.Options{Grace: time.Second})
			return tk
		}
		onlyA := spans.SpanID{byte(children + 2)}
		used := newTracker()
		liveRun(used, spans.TraceID{0xa}, children+1, spans.SpanID{})
		before := used.Stats()
		if before.OpenTraces != 0 || before.RunsCompleted != 1 {
			t.Fatalf("%d children: trace A not closed and retired: %+v", children, before)
		}
		b := spans.TraceID{0xb}
		got := liveRun(used, b, children, onlyA)
		fresh := newTracker()
		want := liveRun(fresh, b, children, onlyA)
		if !reflect.DeepEqual(kinds(got), kinds(want)) {
			t.Fatalf("%d children: after a retired trace %q, in a fresh tracker %q", children, kinds(got), kinds(want))
		}
		after, f := used.Stats(), fresh.Stats()
		if after.SpansAccepted-before.SpansAccepted != f.SpansAccepted || after.SpansDuplicate != before.SpansDuplicate ||
			after.SpansNoRun-before.SpansNoRun != f.SpansNoRun || f.SpansNoRun == 0 || after.SpansLate != before.SpansLate {
			t.Fatalf("%d children: stats after a retired trace %+v (before %+v), in a fresh tracker %+v", children, after, before, f)
		}
	}
}
