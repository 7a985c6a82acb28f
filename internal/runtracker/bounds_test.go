package runtracker_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// TestRootlessTracesStayBounded feeds 100 000 traces whose roots never
// arrive. Held state never exceeds its bounds, and every run the tracker
// starts is closed.
func TestRootlessTracesStayBounded(t *testing.T) {
	const (
		traces       = 100_000
		maxHeld      = 2_000
		maxOpen      = 500
		spansPerTrce = 3
	)
	m, _ := mapping.New(mapping.Options{DefaultAgentID: goldenAgent})
	tk, err := runtracker.New(m, runtracker.Options{
		MaxHeldSpans: maxHeld, MaxOpenRuns: maxOpen, MaxWait: 30 * time.Second,
		OrphanTimeout: time.Minute, Grace: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	started, closed := map[runtracker.RunKey]bool{}, map[runtracker.RunKey]bool{}
	count := func(ops []runtracker.Op) {
		for _, op := range ops {
			switch op.Kind {
			case runtracker.OpStart:
				started[op.Run] = true
			case runtracker.OpClose:
				if closed[op.Run] {
					t.Fatalf("run %d closed twice", op.Run)
				}
				closed[op.Run] = true
			}
		}
	}
	now := t0
	var root spans.SpanID
	root[0] = 0xff
	for i := range traces {
		batch := make([]spans.Span, spansPerTrce)
		for j := range batch {
			var tid spans.TraceID
			binary.BigEndian.PutUint64(tid[8:], uint64(i+1))
			var sid spans.SpanID
			binary.BigEndian.PutUint64(sid[:], uint64(j+1))
			batch[j] = spans.Span{TraceID: tid, SpanID: sid, ParentSpanID: root, Name: "child",
				StartTime: t0, EndTime: t0.Add(time.Millisecond)}
		}
		count(tk.Add(now, batch))
		if i%1000 == 0 {
			now = now.Add(time.Second)
			count(tk.Tick(now))
		}
		if st := tk.Stats(); st.HeldSpans > maxHeld || st.OpenTraces > maxOpen {
			t.Fatalf("after %d traces: held %d spans (bound %d), %d traces open (bound %d)",
				i+1, st.HeldSpans, maxHeld, st.OpenTraces, maxOpen)
		}
	}
	count(tk.Shutdown(now))
	if len(started) == 0 {
		t.Fatal("no run was started")
	}
	for k := range started {
		if !closed[k] {
			t.Fatalf("run %d started and never closed", k)
		}
	}
	st := tk.Stats()
	if st.HeldSpans != 0 || st.OpenTraces != 0 || st.Bytes != 0 {
		t.Fatalf("state left after shutdown: %+v", st)
	}
	if st.SpansAccepted != traces*spansPerTrce {
		t.Fatalf("accepted %d spans, want %d", st.SpansAccepted, traces*spansPerTrce)
	}
	t.Logf("runs started %d, evicted %d, orphaned %d", st.RunsStarted, st.RunsEvicted, st.RunsOrphaned)
}

// A root sent again after its run closed (a client retrying a batch whose
// answer a crash lost) is a duplicate, not a second run; another root of
// the same trace, with a remote parent, still makes its own.
func TestRootSentAgainAfterItsRunClosed(t *testing.T) {
	m, _ := mapping.New(mapping.Options{DefaultAgentID: goldenAgent})
	tk, err := runtracker.New(m, runtracker.Options{Grace: time.Second, RemoteParentIsRoot: true})
	if err != nil {
		t.Fatal(err)
	}
	tid := spans.TraceID{9}
	root := spans.Span{TraceID: tid, SpanID: spans.SpanID{1}, Name: "invoke_agent", StartTime: t0, EndTime: t0.Add(time.Second)}
	other := spans.Span{TraceID: tid, SpanID: spans.SpanID{2}, ParentSpanID: spans.SpanID{7}, ParentRemote: true,
		Name: "invoke_agent", StartTime: t0, EndTime: t0.Add(time.Second)}
	starts := 0
	count := func(ops []runtracker.Op) {
		for _, op := range ops {
			if op.Kind == runtracker.OpStart {
				starts++
			}
		}
	}
	count(tk.Add(t0, []spans.Span{root}))
	count(tk.Tick(t0.Add(2 * time.Second)))
	if starts != 1 || tk.Stats().OpenTraces != 0 {
		t.Fatalf("after the first root: %d starts, %d traces open", starts, tk.Stats().OpenTraces)
	}
	count(tk.Add(t0.Add(3*time.Second), []spans.Span{root}))
	count(tk.Tick(t0.Add(5 * time.Second)))
	if starts != 1 || tk.Stats().SpansDuplicate != 1 {
		t.Fatalf("the root sent again: %d starts, %d duplicates; want 1 and 1", starts, tk.Stats().SpansDuplicate)
	}
	count(tk.Add(t0.Add(6*time.Second), []spans.Span{other}))
	count(tk.Tick(t0.Add(8 * time.Second)))
	count(tk.Add(t0.Add(9*time.Second), []spans.Span{root, other}))
	count(tk.Shutdown(t0.Add(10 * time.Second)))
	if starts != 2 || tk.Stats().SpansDuplicate != 3 {
		t.Fatalf("another root of the trace: %d starts, %d duplicates; want 2 and 3", starts, tk.Stats().SpansDuplicate)
	}
}
