package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

const testRunID = "7d3f7a1e-9a4b-4c1d-8e2f-0123456789ab"

// event returns a valid event whose payload holds n bytes of filler.
func event(i, n int) agentosapi.Event {
	return agentosapi.Event{
		Type:       fmt.Sprintf("step.%d", i),
		Level:      agentosapi.LevelInfo,
		Payload:    json.RawMessage(fmt.Sprintf(`{"i":%d,"fill":%q}`, i, strings.Repeat("x", n))),
		OccurredAt: "2025-03-01T12:00:00.123456789Z",
	}
}

// split runs checkEvents and nextBatch as SendEvents does and returns the
// request bodies, each checked to be as long as the sizes said.
func split(t *testing.T, events []agentosapi.Event, maxBody, maxEvents int) ([][]byte, *sendableEvents) {
	t.Helper()
	overhead := eventsOverhead(testRunID)
	ok, _ := checkEvents(nil, events, overhead, maxBody)
	var bodies [][]byte
	n := len(ok.sizes)
	for first := 0; first < n; {
		end := nextBatch(ok.size, n, first, overhead, maxBody, maxEvents)
		var body bytes.Buffer
		ok.writeBody(&body, events, testRunID, first, end)
		want := overhead + end - first - 1
		for i := first; i < end; i++ {
			want += ok.size(i)
		}
		if body.Len() != want {
			t.Fatalf("body of events [%d, %d) is %d bytes, sizes said %d:\n%s", first, end, body.Len(), want, body.Bytes())
		}
		bodies = append(bodies, body.Bytes())
		first = end
	}
	return bodies, ok
}

func TestSplitEvents(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	many := func(n int, size func(i int) int) []agentosapi.Event {
		evs := make([]agentosapi.Event, n)
		for i := range evs {
			evs[i] = event(i, size(i))
		}
		return evs
	}
	withBad := func(evs []agentosapi.Event, at int, bad agentosapi.Event) []agentosapi.Event {
		evs[at] = bad
		return evs
	}
	tests := []struct {
		name        string
		events      []agentosapi.Event
		maxBody     int
		maxEvents   int
		wantBatches int   // 0: do not check
		wantRejects []int // indexes
		rejectIs    error
	}{
		{name: "one small event", events: many(1, func(int) int { return 10 }), maxBody: DefaultMaxBodyBytes, maxEvents: 100, wantBatches: 1},
		{name: "by count", events: many(250, func(int) int { return 10 }), maxBody: DefaultMaxBodyBytes, maxEvents: 100, wantBatches: 3},
		{name: "by count, exact multiple", events: many(200, func(int) int { return 10 }), maxBody: DefaultMaxBodyBytes, maxEvents: 100, wantBatches: 2},
		{name: "by bytes", events: many(40, func(int) int { return 1000 }), maxBody: 4096, maxEvents: 100},
		{name: "by bytes and count, random sizes", events: many(500, func(int) int { return rng.IntN(1500) }), maxBody: 2048, maxEvents: 7},
		{name: "one per request", events: many(5, func(int) int { return 300 }), maxBody: 512, maxEvents: 100, wantBatches: 5},
		{name: "oversized event left out", events: withBad(many(10, func(int) int { return 100 }), 4, event(4, 5000)),
			maxBody: 1024, maxEvents: 100, wantRejects: []int{4}, rejectIs: ErrEventTooLarge},
		{name: "invalid level left out", events: withBad(many(10, func(int) int { return 1 }), 0,
			agentosapi.Event{Type: "x", Level: "fatal"}), maxBody: 1024, maxEvents: 3, wantRejects: []int{0}, rejectIs: agentosapi.ErrInvalid},
		{name: "broken payload left out", events: withBad(many(10, func(int) int { return 1 }), 9,
			agentosapi.Event{Type: "x", Payload: json.RawMessage(`{"a":`)}), maxBody: 1024, maxEvents: 3, wantRejects: []int{9}, rejectIs: agentosapi.ErrInvalid},
		{name: "types that need escaping", events: func() []agentosapi.Event {
			evs := many(30, func(i int) int { return 25 * i })
			for i := range evs {
				evs[i].Type = fmt.Sprintf("a\"b\\c\u2028\x01é.%d", i)
			}
			return evs
		}(), maxBody: 1024, maxEvents: 4},
		{name: "all rejected", events: many(3, func(int) int { return 2000 }), maxBody: 1024, maxEvents: 3, wantBatches: 0, wantRejects: []int{0, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bodies, enc := split(t, tt.events, tt.maxBody, tt.maxEvents)
			if tt.wantBatches > 0 && len(bodies) != tt.wantBatches {
				t.Errorf("got %d requests, want %d", len(bodies), tt.wantBatches)
			}
			var rejected []int
			for _, r := range enc.bad {
				rejected = append(rejected, r.Index)
				if r.Type != tt.events[r.Index].Type {
					t.Errorf("reject of events[%d] names type %q", r.Index, r.Type)
				}
				if tt.rejectIs != nil && !errors.Is(r, tt.rejectIs) {
					t.Errorf("reject %v is not %v", r, tt.rejectIs)
				}
			}
			if !slices.Equal(rejected, tt.wantRejects) {
				t.Errorf("rejected %v, want %v", rejected, tt.wantRejects)
			}

			var got []agentosapi.Event
			for i, body := range bodies {
				if len(body) > tt.maxBody {
					t.Errorf("request %d is %d bytes, over %d", i, len(body), tt.maxBody)
				}
				var req agentosapi.EventsRequest
				if err := json.Unmarshal(body, &req); err != nil {
					t.Fatalf("request %d is not JSON: %v\n%s", i, err, body)
				}
				if err := req.Validate(); err != nil {
					t.Errorf("request %d is invalid: %v", i, err)
				}
				if req.RunID != testRunID {
					t.Errorf("request %d run_id = %q", i, req.RunID)
				}
				if len(req.Events) > tt.maxEvents {
					t.Errorf("request %d has %d events, over %d", i, len(req.Events), tt.maxEvents)
				}
				// Greedy: the next event would not have fitted.
				if i+1 < len(bodies) && len(req.Events) < tt.maxEvents {
					var next agentosapi.EventsRequest
					_ = json.Unmarshal(bodies[i+1], &next)
					nextSize := len(mustJSON(t, next.Events[0]))
					if len(body)+1+nextSize <= tt.maxBody {
						t.Errorf("request %d (%d bytes) had room for the next event (%d bytes)", i, len(body), nextSize)
					}
				}
				got = append(got, req.Events...)
			}

			var want []agentosapi.Event
			for i, ev := range tt.events {
				if !slices.Contains(tt.wantRejects, i) {
					want = append(want, ev)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("sent %d events, want %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(mustJSON(t, got[i]), mustJSON(t, want[i])) {
					t.Fatalf("event %d: sent %s, want %s", i, mustJSON(t, got[i]), mustJSON(t, want[i]))
				}
			}
		})
	}
}

func TestEncodeEventsKeepsHTML(t *testing.T) {
	ev := agentosapi.Event{Type: "llm.response", Payload: json.RawMessage(`{"response": "<b>a & b</b>"}`)}
	bodies, _ := split(t, []agentosapi.Event{ev}, 1024, 10)
	if len(bodies) != 1 || !bytes.Contains(bodies[0], []byte(`"<b>a & b</b>"`)) {
		t.Fatalf("body %s: want the payload's text unescaped and compacted", bodies)
	}
}

func TestEventThatExactlyFits(t *testing.T) {
	ev := event(0, 0)
	size := len(mustJSON(t, ev))
	limit := eventsOverhead(testRunID) + size
	for _, tt := range []struct {
		limit   int
		rejects int
	}{{limit, 0}, {limit - 1, 1}} {
		bodies, enc := split(t, []agentosapi.Event{ev}, tt.limit, 10)
		if len(enc.bad) != tt.rejects {
			t.Fatalf("limit %d: %d rejects, want %d", tt.limit, len(enc.bad), tt.rejects)
		}
		if tt.rejects == 0 && len(bodies[0]) != tt.limit {
			t.Fatalf("body is %d bytes, want exactly %d", len(bodies[0]), tt.limit)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
