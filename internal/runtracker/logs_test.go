package runtracker_test

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

func logTracker(t *testing.T, join bool) *runtracker.Tracker {
	t.Helper()
	m, _ := mapping.New(mapping.Options{DefaultAgentID: goldenAgent})
	tk, err := runtracker.New(m, runtracker.Options{MaxWait: 5 * time.Second, Grace: time.Second, OrphanTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if join {
		tk.JoinLogs()
	}
	return tk
}

// runRequests flattens ops into what each run sends, by run: its start,
// every event in order, its close.
func runRequests(t *testing.T, ops []runtracker.Op) map[runtracker.RunKey][]string {
	t.Helper()
	out := map[runtracker.RunKey][]string{}
	for _, op := range ops {
		var v any
		switch op.Kind {
		case runtracker.OpStart:
			v = op.Start
		case runtracker.OpEvents:
			for _, e := range op.Events {
				b, _ := json.Marshal(e)
				out[op.Run] = append(out[op.Run], string(b))
			}
			continue
		case runtracker.OpClose:
			v = op.Close
		default:
			v = op.Task
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[op.Run] = append(out[op.Run], string(b))
	}
	return out
}

// TestJoinLogsChangesNothingWithoutLogs: deferring the mapping until a
// run's events are sent gives the same requests, in the same order, as
// mapping each span when it arrives.
func TestJoinLogsChangesNothingWithoutLogs(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	plain, joined := logTracker(t, false), logTracker(t, true)
	var opsPlain, opsJoined []runtracker.Op
	now := t0
	for i := range 300 {
		tr := randomTrace(rng, i)
		rng.Shuffle(len(tr), func(a, b int) { tr[a], tr[b] = tr[b], tr[a] })
		for len(tr) > 0 {
			n := min(len(tr), 1+rng.IntN(4))
			a, b := append([]spans.Span(nil), tr[:n]...), append([]spans.Span(nil), tr[:n]...)
			opsPlain = append(opsPlain, plain.Add(now, a)...)
			opsJoined = append(opsJoined, joined.Add(now, b)...)
			tr = tr[n:]
			now = now.Add(time.Duration(rng.IntN(400)) * time.Millisecond)
			opsPlain = append(opsPlain, plain.Tick(now)...)
			opsJoined = append(opsJoined, joined.Tick(now)...)
		}
	}
	opsPlain = append(opsPlain, plain.Shutdown(now)...)
	opsJoined = append(opsJoined, joined.Shutdown(now)...)
	want, got := runRequests(t, opsPlain), runRequests(t, opsJoined)
	if len(want) < 300 || !reflect.DeepEqual(got, want) {
		t.Fatalf("with JoinLogs, %d runs differ from the %d without", len(got), len(want))
	}
	if joined.Bytes() != 0 {
		t.Errorf("%d bytes still charged after shutdown", joined.Bytes())
	}
}

// TestAttachLogs: a record after its span joins it while the span is held
// for its root, or its run's events are not sent; once they are, or the
// run is closed, it does not.
func TestAttachLogs(t *testing.T) {
	tk := logTracker(t, true)
	tid := spans.TraceID{1}
	root := spans.Span{TraceID: tid, SpanID: spans.SpanID{1}, Name: "invoke_agent demo", StartTime: t0, EndTime: t0.Add(time.Second),
		Attrs: []spans.Attr{{Key: "gen_ai.operation.name", Value: spans.StringValue("invoke_agent")}}}
	chat := func(id byte) spans.Span {
		return spans.Span{TraceID: tid, SpanID: spans.SpanID{id}, ParentSpanID: root.SpanID, Name: "chat m",
			StartTime: t0.Add(time.Duration(id) * time.Millisecond), EndTime: t0.Add(time.Duration(id+1) * time.Millisecond),
			Attrs: []spans.Attr{{Key: "gen_ai.operation.name", Value: spans.StringValue("chat")}}}
	}
	user := func(text string, at time.Duration) []spans.Event {
		return []spans.Event{mustLogEvent(t, "gen_ai.user.message", t0.Add(at), text)}
	}

	ops := tk.Add(t0, []spans.Span{chat(2)}) // held: its root has not come
	if !tk.AttachLogs(tid, spans.SpanID{2}, user("held", 2*time.Millisecond)) {
		t.Fatal("a held span did not take its record")
	}
	ops = append(ops, tk.Add(t0, []spans.Span{chat(3), root})...)
	if !tk.AttachLogs(tid, spans.SpanID{3}, user("in grace, second", 3*time.Millisecond+2)) ||
		!tk.AttachLogs(tid, spans.SpanID{3}, user("in grace, first", 3*time.Millisecond+1)) {
		t.Fatal("a span of a run in its grace period did not take its records")
	}
	if tk.AttachLogs(tid, spans.SpanID{9}, user("unknown span", 0)) || tk.AttachLogs(spans.TraceID{2}, spans.SpanID{2}, user("unknown trace", 0)) {
		t.Fatal("a record joined a span never seen")
	}
	ops = append(ops, tk.Tick(t0.Add(2*time.Second))...) // the grace period ends: closed
	if tk.AttachLogs(tid, spans.SpanID{2}, user("after the run", 0)) {
		t.Fatal("a record joined a span of a closed run")
	}
	all := strings.Join(runRequests(t, ops)[ops[0].Run], "\n")
	for _, want := range []string{`"held"`, `"in grace, first"},{"role":"user","content":"in grace, second"`} {
		if !strings.Contains(all, want) {
			t.Errorf("requests lack %s:\n%s", want, all)
		}
	}
	if strings.Contains(all, "after the run") {
		t.Errorf("a record after the run was sent:\n%s", all)
	}
	if tk.Bytes() != 0 {
		t.Errorf("%d bytes still charged", tk.Bytes())
	}
}

func mustLogEvent(t *testing.T, name string, at time.Time, content string) spans.Event {
	t.Helper()
	ev, ok := mapping.LogEvent(name, at, nil, spans.MapValue([]spans.Attr{{Key: "content", Value: spans.StringValue(content)}}))
	if !ok {
		t.Fatalf("%s is not a GenAI record", name)
	}
	return ev
}
