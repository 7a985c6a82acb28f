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
