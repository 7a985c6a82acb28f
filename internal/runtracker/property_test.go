package runtracker_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// randomTrace builds a tree of spans under one root; children lie within
// their parent's time range, as real instrumentation produces.
func randomTrace(rng *rand.Rand, traceNo int) []spans.Span {
	var tid spans.TraceID
	tid[0], tid[1], tid[15] = byte(traceNo>>8), byte(traceNo), 1
	var out []spans.Span
	next := uint64(1)
	ops := []string{"chat", "execute_tool", "invoke_agent", "", "retrieve"}
	var grow func(parent spans.SpanID, start, end time.Time, depth int)
	grow = func(parent spans.SpanID, start, end time.Time, depth int) {
		var sid spans.SpanID
		sid[0], sid[7] = byte(next>>8), byte(next)
		sid[6] = byte(traceNo)
		next++
		s := spans.Span{TraceID: tid, SpanID: sid, ParentSpanID: parent, Name: fmt.Sprintf("span-%d", next),
			StartTime: start, EndTime: end}
		// Coarse timestamps make ties common, so the tie rules are exercised.
		if op := ops[rng.IntN(len(ops))]; op != "" {
			s.Attrs = append(s.Attrs, spans.Attr{Key: "gen_ai.operation.name", Value: spans.StringValue(op)})
		}
		if rng.IntN(4) == 0 {
			s.StatusCode = spans.StatusError
		}
		for range rng.IntN(3) {
			at := start.Add(time.Duration(rng.Int64N(int64(end.Sub(start)) + 1)))
			s.Events = append(s.Events, spans.Event{Name: "note", Time: at})
		}
		out = append(out, s)
		if depth < 4 {
			for range rng.IntN(4) {
				a := start.Add(time.Duration(rng.Int64N(int64(end.Sub(start)) + 1)).Truncate(time.Millisecond))
				b := a.Add(time.Duration(rng.Int64N(int64(end.Sub(a)) + 1)).Truncate(time.Millisecond))
				grow(sid, a, b, depth+1)
			}
		}
	}
	grow(spans.SpanID{}, t0, t0.Add(time.Duration(1+rng.IntN(10))*time.Second), 0)
	return out
}

type runLog struct {
	started, closed int
	events          []string // occurred_at + phase, as sent
	afterClose      bool
}

func phaseOf(typ string) int {
	switch {
	case strings.HasSuffix(typ, ".request"), strings.HasSuffix(typ, ".called"), strings.HasSuffix(typ, ".started"):
		return 0
	case typ == "note":
		return 1
	}
	return 2
}

func checkOps(t *testing.T, ops []runtracker.Op, logs map[runtracker.RunKey]*runLog) {
	t.Helper()
	for _, op := range ops {
		l := logs[op.Run]
		if l == nil {
			l = &runLog{}
			logs[op.Run] = l
		}
		if l.closed > 0 {
			l.afterClose = true
		}
		switch op.Kind {
		case runtracker.OpStart:
			l.started++
		case runtracker.OpClose:
			l.closed++
		case runtracker.OpEvents:
			if l.started == 0 {
				t.Fatalf("run %d: events before start", op.Run)
			}
			for _, e := range op.Events {
				l.events = append(l.events, fmt.Sprintf("%s/%d", e.OccurredAt, phaseOf(e.Type)))
			}
		}
	}
}

// TestPropertyRandomTreesRandomBatches: random span trees, shuffled and
// delivered in random batches. Every opened run is closed exactly once,
// nothing follows a close, and each run's events keep the order rule.
func TestPropertyRandomTreesRandomBatches(t *testing.T) {
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 7))
		var all []spans.Span
		nTraces := 1 + rng.IntN(6)
		wantEvents := 0
		for i := range nTraces {
			tr := randomTrace(rng, i)
			for _, s := range tr {
				wantEvents += len(s.Events)
				if s.HasParent() {
					wantEvents += 2
				}
			}
			all = append(all, tr...)
		}
		rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })

		m, _ := mapping.New(mapping.Options{DefaultAgentID: goldenAgent})
		// A grace period longer than the delivery keeps every span in time.
		tk, err := runtracker.New(m, runtracker.Options{Grace: time.Hour, MaxWait: 2 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		logs := map[runtracker.RunKey]*runLog{}
		now := t0
		for len(all) > 0 {
			n := 1 + rng.IntN(len(all))
			batch := append([]spans.Span(nil), all[:n]...)
			all = all[n:]
			checkOps(t, tk.Add(now, batch), logs)
			now = now.Add(time.Duration(rng.IntN(1500)) * time.Millisecond)
			checkOps(t, tk.Tick(now), logs)
			if b := tk.Bytes(); b < 0 || (b == 0 && tk.Stats().HeldSpans > 0) {
				t.Fatalf("seed %d: %d bytes accounted with %d spans held", seed, b, tk.Stats().HeldSpans)
			}
		}
		checkOps(t, tk.Tick(now.Add(time.Hour)), logs)
		checkOps(t, tk.Shutdown(now.Add(4*time.Second)), logs)

		if len(logs) != nTraces {
			t.Fatalf("seed %d: %d runs for %d traces", seed, len(logs), nTraces)
		}
		gotEvents := 0
		for key, l := range logs {
			if l.started != 1 || l.closed != 1 || l.afterClose {
				t.Fatalf("seed %d run %d: started %d, closed %d, sent after close %v", seed, key, l.started, l.closed, l.afterClose)
			}
			for i := 1; i < len(l.events); i++ {
				if l.events[i] < l.events[i-1] {
					t.Fatalf("seed %d run %d: event %d (%s) sent after %s", seed, key, i, l.events[i], l.events[i-1])
				}
			}
			gotEvents += len(l.events)
		}
		if gotEvents != wantEvents {
			t.Fatalf("seed %d: %d events sent, want %d", seed, gotEvents, wantEvents)
		}
		if st := tk.Stats(); st.HeldSpans != 0 || st.OpenTraces != 0 || st.Bytes != 0 {
			t.Fatalf("seed %d: state left after shutdown: %+v", seed, st)
		}
	}
}

// TestPropertyLifecycleUnderTimeouts adds lost roots and long pauses: runs
// start without roots, time out, and late spans arrive. Still every run is
// closed exactly once and nothing is sent after a close.
func TestPropertyLifecycleUnderTimeouts(t *testing.T) {
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 11))
		var all []spans.Span
		for i := range 1 + rng.IntN(8) {
			tr := randomTrace(rng, i)
			if rng.IntN(2) == 0 {
				tr = tr[1:] // the root is lost
			}
			all = append(all, tr...)
		}
		rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		m, _ := mapping.New(mapping.Options{DefaultAgentID: goldenAgent})
		tk, _ := runtracker.New(m, runtracker.Options{
			Grace: time.Second, MaxWait: 5 * time.Second, OrphanTimeout: 20 * time.Second,
			MaxOpenRuns: 1 + rng.IntN(4), MaxHeldSpans: 1 + rng.IntN(30), MaxSpansPerTrace: 1 + rng.IntN(10),
		})
		logs := map[runtracker.RunKey]*runLog{}
		now := t0
		for len(all) > 0 {
			n := 1 + rng.IntN(len(all))
			checkOps(t, tk.Add(now, append([]spans.Span(nil), all[:n]...)), logs)
			all = all[n:]
			now = now.Add(time.Duration(rng.IntN(30)) * time.Second)
			checkOps(t, tk.Tick(now), logs)
			if b := tk.Bytes(); b < 0 || (b == 0 && tk.Stats().HeldSpans > 0) {
				t.Fatalf("seed %d: %d bytes accounted with %d spans held", seed, b, tk.Stats().HeldSpans)
			}
		}
		checkOps(t, tk.Shutdown(now), logs)
		for key, l := range logs {
			if l.started != 1 || l.closed != 1 || l.afterClose {
				t.Fatalf("seed %d run %d: started %d, closed %d, sent after close %v", seed, key, l.started, l.closed, l.afterClose)
			}
		}
		if st := tk.Stats(); st.HeldSpans != 0 || st.OpenTraces != 0 || st.Bytes != 0 {
			t.Fatalf("seed %d: state left after shutdown: %+v", seed, st)
		}
	}
}
