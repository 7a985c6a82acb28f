package mapping

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// appendTime must render exactly what the layout does, for every year.
func TestAppendTimeMatchesLayout(t *testing.T) {
	east := time.FixedZone("east", 5*3600+1800)
	times := []time.Time{
		{},
		time.Unix(0, 0),
		time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(2026, 3, 1, 1, 2, 3, 4, east), // the day before in UTC
		time.Date(9999, 12, 31, 23, 59, 59, 1, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 6, 1, 0, 0, 0, 0, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		times = append(times, time.Unix(rng.Int64N(1<<36)-1<<35, rng.Int64N(1e9)).In(east))
	}
	for _, at := range times {
		want := at.UTC().Format(TimeLayout)
		if got := string(appendTime([]byte("x"), at)); got != "x"+want {
			t.Fatalf("appendTime(%v) = %q, want %q", at, got[1:], want)
		}
	}
}

// obj.id and obj.time write what str writes of the same text, the string
// limit included.
func TestIDAndTimeFieldsMatchStr(t *testing.T) {
	id := spans.TraceID{0xde, 0xad, 0xbe, 0xef, 15: 1}
	at := time.Date(2026, 1, 1, 12, 0, 0, 5, time.UTC)
	for _, limit := range []int{0, 4, 16, 29, 30, 31, 32, 33} {
		t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) {
			m, err := New(Options{MaxStringLen: limit})
			if err != nil {
				t.Fatal(err)
			}
			got, want := m.newObj([]byte("x")), m.newObj([]byte("x"))
			got.id("trace_id", id[:])
			want.str("trace_id", hex.EncodeToString(id[:]))
			got.time("at", at)
			want.str("at", FormatTime(at))
			if g, w := string(got.close()), string(want.close()); g != w {
				t.Fatalf("got  %s\nwant %s", g, w)
			}
		})
	}
}

// Events taken from a timeline keep their payloads while it goes on
// collecting, and come out in timeline order.
func TestTimelineTakeKeepsPayloads(t *testing.T) {
	m, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	span := func(i int, size int) spans.Span {
		return spans.Span{TraceID: spans.TraceID{1}, SpanID: spans.SpanID{byte(i + 1)}, ParentSpanID: spans.SpanID{0xff},
			Name: fmt.Sprintf("step-%d", i), StartTime: t0.Add(time.Duration(10-i) * time.Second), EndTime: t0.Add(time.Minute),
			Attrs: []spans.Attr{{Key: "blob", Value: spans.StringValue(strings.Repeat("b", size))}}}
	}
	var tl Timeline
	var taken [][]agentosapi.Event
	var copies [][]string
	for round := range 3 {
		for i := range 6 {
			s := span(i, 1+i*round*4000) // from tiny to larger than a chunk
			m.AddEvents(&tl, &s, 1, false)
		}
		if tl.Len() != 12 {
			t.Fatalf("round %d: %d events held, want 12", round, tl.Len())
		}
		evs := tl.Take()
		if tl.Len() != 0 {
			t.Fatalf("round %d: %d events left after Take", round, tl.Len())
		}
		var snap []string
		for i, e := range evs {
			if i > 0 && evs[i-1].OccurredAt > e.OccurredAt {
				t.Fatalf("round %d: event %d at %s after %s", round, i, e.OccurredAt, evs[i-1].OccurredAt)
			}
			if cap(e.Payload) != len(e.Payload) {
				t.Fatalf("round %d: payload %d has spare capacity: appending to it would write into another", round, i)
			}
			snap = append(snap, e.OccurredAt+" "+e.Type+" "+string(e.Payload))
		}
		taken, copies = append(taken, evs), append(copies, snap)
	}
	for r, evs := range taken {
		for i, e := range evs {
			if got := e.OccurredAt + " " + e.Type + " " + string(e.Payload); got != copies[r][i] {
				t.Fatalf("round %d event %d changed after later rounds:\n%.200s\nwas\n%.200s", r, i, got, copies[r][i])
			}
		}
	}
}

// A timeline gives the same events as mapping each span on its own.
func TestTimelineMatchesSingleEvents(t *testing.T) {
	m, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := spans.Span{TraceID: spans.TraceID{1}, SpanID: spans.SpanID{2}, ParentSpanID: spans.SpanID{1}, Name: "chat",
		StartTime: t0, EndTime: t0.Add(time.Second), StatusCode: spans.StatusError,
		Attrs:  []spans.Attr{{Key: "gen_ai.operation.name", Value: spans.StringValue("chat")}},
		Events: []spans.Event{{Name: "exception", Time: t0.Add(time.Millisecond), Attrs: []spans.Attr{{Key: "exception.message", Value: spans.StringValue("boom")}}}}}
	start, _ := m.StartEvent(&s, 1, TypeLLM)
	end, _ := m.EndEvent(&s, 1, TypeLLM)
	var tl Timeline
	m.AddEvents(&tl, &s, 1, false)
	got := tl.Take()
	if len(got) != 3 {
		t.Fatalf("%d events, want 3", len(got))
	}
	for i, want := range []agentosapi.Event{start.Wire, {}, end.Wire} {
		if i == 1 {
			if got[1].Type != "exception" || got[1].Level != agentosapi.LevelError {
				t.Fatalf("span event: %+v", got[1])
			}
			continue
		}
		if got[i].Type != want.Type || got[i].Level != want.Level || got[i].OccurredAt != want.OccurredAt || string(got[i].Payload) != string(want.Payload) {
			t.Fatalf("event %d:\ngot  %+v\nwant %+v", i, got[i], want)
		}
	}
}

// Timelines recycle their grown entry slices: events taken from one stay
// as they were while later timelines grow through the same memory, and a
// timeline taken and refilled orders only its own events.
func TestTimelineRecyclesEntries(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	fill := func(tl *Timeline, tag string, n int) {
		for i := range n {
			// Added newest first, so that the timeline sorts them.
			at := t0.Add(time.Duration(n-i) * time.Millisecond)
			tl.add(newEntry(at, PhaseStart, 0, 0, spans.SpanID{byte(i)}, tag, agentosapi.LevelInfo), []byte(fmt.Sprintf(`{"%s":%d}`, tag, n-i)))
		}
	}
	check := func(evs []agentosapi.Event, tag string, n int) {
		t.Helper()
		if len(evs) != n {
			t.Fatalf("%s: %d events, want %d", tag, len(evs), n)
		}
		for i, e := range evs {
			want := fmt.Sprintf(`{"%s":%d}`, tag, i+1)
			if e.Type != tag || string(e.Payload) != want || e.OccurredAt != FormatTime(t0.Add(time.Duration(i+1)*time.Millisecond)) {
				t.Fatalf("%s: event %d is %s %s at %s, want %s", tag, i, e.Type, e.Payload, e.OccurredAt, want)
			}
		}
	}
	var a, b Timeline
	fill(&a, "a", 300)
	first := a.Take()
	fill(&b, "b", 200) // grows through a's slices
	fill(&a, "c", 100)
	check(first, "a", 300)
	check(b.Take(), "b", 200)
	check(a.Take(), "c", 100)
	check(first, "a", 300)
}

// Payloads written while a timeline is staged leave the borrowed memory at
// Settle (or Take), whatever fills it next; entries reserved ahead are
// recycled like grown ones; a payload too large to stage keeps its own.
func TestTimelineStageSettles(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	fill := func(tl *Timeline, tag string, n int) {
		for i := range n {
			at := t0.Add(time.Duration(n-i) * time.Millisecond)
			payload := fmt.Sprintf(`{"%s":%d}`, tag, n-i)
			if n > 1 && i == n/2 {
				payload = fmt.Sprintf(`{"%s":%d,"pad":"%s"}`, tag, n-i, strings.Repeat("x", maxChunk))
			}
			tl.add(newEntry(at, PhaseStart, 0, 0, spans.SpanID{byte(i)}, tag, agentosapi.LevelInfo), []byte(payload))
		}
	}
	snapshot := func(evs []agentosapi.Event) []string {
		var out []string
		for _, e := range evs {
			out = append(out, e.Type+" "+string(e.Payload))
		}
		return out
	}
	var a, b, c Timeline
	a.Reserve(40, 1<<10)
	a.Stage()
	fill(&a, "a", 40)
	a.Settle()
	b.Stage()
	fill(&b, "b", 3000) // through the same staging memory, past its end
	c.Stage()
	fill(&c, "c", 1)
	first := a.Take()
	want := snapshot(first)
	second := b.Take() // settles first
	fill(&a, "d", 10)
	if got := snapshot(first); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatal("events of a staged timeline changed after it settled")
	}
	if len(second) != 3000 || string(second[0].Payload) != `{"b":1}` || len(second[1499].Payload) < maxChunk {
		t.Fatalf("staged timeline: %d events, first %s", len(second), second[0].Payload)
	}
	c.Settle()
	c.Settle() // twice is once
	if got := c.Take(); len(got) != 1 || string(got[0].Payload) != `{"c":1}` {
		t.Fatalf("c: %d events", len(got))
	}
	for i, e := range first {
		if e.Type != "a" || !strings.HasPrefix(string(e.Payload), fmt.Sprintf(`{"a":%d`, i+1)) {
			t.Fatalf("a: event %d is %s %s", i, e.Type, e.Payload)
		}
	}
}

// Settle copies only what was written into the staging memory: payloads
// that did not fit there have memory of their own already, and copying
// them again would double what a run of large prompts costs.
func TestTimelineSettleMovesOnlyStagedPayloads(t *testing.T) {
	var sc scratch
	sc.staging = make([]byte, 0, 4<<10)
	tl := Timeline{free: sc.staging[:0]}
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for i := range 6 {
		payload := fmt.Sprintf(`{"n":%d,"prompt":"%s"}`, i, strings.Repeat("p", 3<<10))
		tl.add(newEntry(t0.Add(time.Duration(i)), PhaseStart, 0, 0, spans.SpanID{byte(i)}, "llm.request", agentosapi.LevelInfo), []byte(payload))
	}
	var staged, own int
	before := make([]*byte, len(tl.entries))
	for i, e := range tl.entries {
		before[i] = unsafe.SliceData(e.payload)
		if within(e.payload, sc.staging) {
			staged++
		} else {
			own++
		}
	}
	if staged == 0 || own == 0 {
		t.Fatalf("the case needs payloads in and out of staging: %d staged, %d own", staged, own)
	}
	tl.compact(sc.staging)
	for i, e := range tl.entries {
		moved := unsafe.SliceData(e.payload) != before[i]
		if within(e.payload, sc.staging) {
			t.Fatalf("payload %d still in the staging memory", i)
		}
		if moved != (i < staged) {
			t.Fatalf("payload %d: moved %v, staged payloads were the first %d", i, moved, staged)
		}
		if want := fmt.Sprintf(`{"n":%d,`, i); !strings.HasPrefix(string(e.payload), want) {
			t.Fatalf("payload %d is %.20s", i, e.payload)
		}
	}
}
