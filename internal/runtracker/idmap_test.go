package runtracker

import (
	"math/rand/v2"
	"testing"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// idMap must behave as a Go map through its switch from slice to map.
func TestIDMapMatchesMap(t *testing.T) {
	for _, ids := range []int{3, smallIDs, smallIDs + 1, 200} {
		rng := rand.New(rand.NewPCG(uint64(ids), 7))
		var got idMap[int]
		want := map[spans.SpanID]int{}
		for step := range 4000 {
			id := spans.SpanID{7: byte(rng.IntN(ids))}
			switch rng.IntN(3) {
			case 0:
				got.set(id, step)
				want[id] = step
			case 1:
				got.delete(id)
				delete(want, id)
			}
			v, ok := got.get(id)
			if w, wok := want[id]; v != w || ok != wok {
				t.Fatalf("ids=%d step %d: get(%v) = %d, %v; want %d, %v", ids, step, id, v, ok, w, wok)
			}
			if got.len() != len(want) {
				t.Fatalf("ids=%d step %d: len %d, want %d", ids, step, got.len(), len(want))
			}
		}
	}
}

// recycle hands on empty storage worth keeping, and leaves its idMap empty.
func TestIDMapRecycle(t *testing.T) {
	for _, tc := range []struct {
		ids, keep int
		kept      bool
	}{
		{3, 100, false},           // a slice short of its full size
		{smallIDs, 100, true},     // a full slice
		{smallIDs + 1, 100, true}, // a map
		{200, 100, false},         // a map past keep
	} {
		var m idMap[int]
		for i := range tc.ids {
			m.set(spans.SpanID{7: byte(i)}, i)
		}
		spare, ok := m.recycle(tc.keep)
		if ok != tc.kept || m.len() != 0 || spare.len() != 0 {
			t.Fatalf("%d ids: kept %v (want %v), left %d ids, handed on %d", tc.ids, ok, tc.kept, m.len(), spare.len())
		}
		if !ok {
			continue
		}
		// The storage takes ids again, as many as it held, as a fresh idMap.
		for i := range tc.ids {
			spare.set(spans.SpanID{6: 1, 7: byte(i)}, -i)
		}
		if _, found := spare.get(spans.SpanID{7: 0}); found || spare.len() != tc.ids {
			t.Fatalf("%d ids: reused storage holds %d ids, an old one found: %v", tc.ids, spare.len(), found)
		}
	}
}
