package logjoin

import (
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func rec(trace, span byte, name string, at time.Duration) Record {
	return Record{TraceID: spans.TraceID{trace}, SpanID: spans.SpanID{span}, Event: spans.Event{Name: name, Time: t0.Add(at)}}
}

func span(trace, id byte) spans.Span {
	return spans.Span{TraceID: spans.TraceID{trace}, SpanID: spans.SpanID{id}}
}

func TestJoin(t *testing.T) {
	var drops []Drop
	b := New(time.Second, func(d Drop) { drops = append(drops, d) }, nil)

	// Records come before their span, out of order: the span gets them in
	// time order; a span without records gets none.
	b.Add(t0, []Record{rec(1, 2, "gen_ai.choice", 2), rec(1, 2, "gen_ai.user.message", 1)})
	batch := []spans.Span{span(1, 2), span(1, 3)}
	b.Attach(t0, batch)
	if got := len(batch[0].Logs()); got != 2 || batch[0].Logs()[0].Name != "gen_ai.user.message" {
		t.Fatalf("span got %v", batch[0].Logs())
	}
	if len(batch[1].Logs()) != 0 {
		t.Fatal("a span got records not its own")
	}

	// After its span: dropped, reported once per trace.
	b.Add(t0, []Record{rec(1, 2, "gen_ai.choice", 3)})
	b.Add(t0, []Record{rec(1, 3, "gen_ai.choice", 3)})
	// Without a span id: dropped.
	b.Add(t0, []Record{{TraceID: spans.TraceID{4}, Event: spans.Event{Name: "gen_ai.choice"}}})
	// Its span never comes: an orphan when the wait is over.
	b.Add(t0, []Record{rec(5, 1, "gen_ai.user.message", 0)})
	b.Attach(t0.Add(999*time.Millisecond), nil)
	if n := b.Dropped()[ReasonOrphan]; n != 0 {
		t.Fatalf("dropped before the wait was over: %d", n)
	}
	b.Attach(t0.Add(time.Second), nil)

	want := map[string]int64{ReasonAfterSpan: 2, ReasonNoSpanID: 1, ReasonOrphan: 1}
	for k, v := range want {
		if got := b.Dropped()[k]; got != v {
			t.Errorf("dropped %s = %d, want %d", k, got, v)
		}
	}
	firsts := 0
	for _, d := range drops {
		if d.First {
			firsts++
		}
	}
	if len(drops) != 4 || firsts != 3 {
		t.Errorf("reports %+v: want 4, the first of each of 3 traces marked", drops)
	}
}

func TestBounded(t *testing.T) {
	b := New(time.Minute, nil, nil)
	b.maxHeld = 2
	b.Add(t0, []Record{rec(1, 1, "a", 0), rec(1, 1, "b", 0), rec(1, 1, "c", 0)})
	if got := b.Dropped()[ReasonBufferFull]; got != 1 {
		t.Fatalf("buffer_full = %d", got)
	}
	b.Close()
	if got := b.Dropped()[ReasonOrphan]; got != 2 {
		t.Fatalf("Close dropped %d, want the 2 held", got)
	}
}

// A record after its span goes to late; only what late gives back is
// dropped, as after_span.
func TestLateRecordsGoToTheTracker(t *testing.T) {
	var gotLate []Record
	b := New(time.Minute, nil, func(recs []Record) []Record {
		gotLate = append(gotLate, recs...)
		return recs[1:] // the tracker took the first only
	})
	b.Attach(t0, []spans.Span{span(1, 2)})
	b.Add(t0, []Record{rec(1, 2, "gen_ai.choice", 1), rec(1, 2, "gen_ai.choice", 2), rec(1, 3, "gen_ai.user.message", 0)})
	if len(gotLate) != 2 || gotLate[0].Event.Time != t0.Add(1) {
		t.Fatalf("late got %+v, want the 2 records of the passed span", gotLate)
	}
	if got := b.Dropped(); got[ReasonAfterSpan] != 1 || len(got) != 1 {
		t.Errorf("dropped %v, want 1 after_span", got)
	}
	b.Attach(t0, []spans.Span{span(1, 3)})
	b.Close()
	if got := b.Dropped()[ReasonOrphan]; got != 0 {
		t.Errorf("the waiting record was not held: %d orphans", got)
	}
}
