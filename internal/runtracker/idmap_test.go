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
