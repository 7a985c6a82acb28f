package runtracker_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/mapping"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// With LentAttrs, a caller that reuses each batch and the attribute arrays
// of its spans once Add returns gets the same requests as one that does
// not: the tracker copies what it keeps (held spans, run roots, deferred
// spans with JoinLogs), whether a run starts from its root or without it.
func TestLentAttrsChangeNothing(t *testing.T) {
	for _, join := range []bool{false, true} {
		t.Run(fmt.Sprintf("join=%v", join), func(t *testing.T) {
			tracker := func(lent bool) *runtracker.Tracker {
				m, _ := mapping.New(mapping.Options{DefaultAgentID: goldenAgent})
				tk, err := runtracker.New(m, runtracker.Options{MaxWait: time.Second, Grace: time.Second,
					OrphanTimeout: 3 * time.Second, LentAttrs: lent})
				if err != nil {
					t.Fatal(err)
				}
				if join {
					tk.JoinLogs()
				}
				return tk
			}
			rng := rand.New(rand.NewPCG(11, 3))
			plain, lent := tracker(false), tracker(true)
			var opsPlain, opsLent []runtracker.Op
			now := t0
			for i := range 200 {
				tr := randomTrace(rng, i)
				for j := range tr {
					s := &tr[j]
					s.Attrs = append(s.Attrs,
						spans.Attr{Key: "gen_ai.input.messages", Value: spans.StringValue(fmt.Sprintf(`[{"role":"user","parts":[{"type":"text","content":"q%d"}]}]`, j))},
						spans.Attr{Key: "gen_ai.request.model", Value: spans.StringValue("m")},
						spans.Attr{Key: "agentos.agent_id", Value: spans.StringValue(goldenAgent)})
					for k := range s.Events {
						s.Events[k].Attrs = []spans.Attr{{Key: "note.text", Value: spans.StringValue(fmt.Sprint("n", k))}}
					}
				}
				rng.Shuffle(len(tr), func(a, b int) { tr[a], tr[b] = tr[b], tr[a] })
				for len(tr) > 0 {
					n := min(len(tr), 1+rng.IntN(6))
					opsPlain = append(opsPlain, plain.Add(now, deepCopy(tr[:n]))...)
					batch := deepCopy(tr[:n])
					opsLent = append(opsLent, lent.Add(now, batch)...)
					for k := range batch {
						scribble(batch[k].Attrs)
						for _, e := range batch[k].Events {
							scribble(e.Attrs)
						}
						batch[k] = spans.Span{Name: "reused"}
					}
					tr = tr[n:]
					now = now.Add(time.Duration(rng.IntN(700)) * time.Millisecond)
					opsPlain = append(opsPlain, plain.Tick(now)...)
					opsLent = append(opsLent, lent.Tick(now)...)
				}
			}
			opsPlain = append(opsPlain, plain.Shutdown(now)...)
			opsLent = append(opsLent, lent.Shutdown(now)...)
			want, got := runRequests(t, opsPlain), runRequests(t, opsLent)
			if len(want) < 200 || !reflect.DeepEqual(got, want) {
				for k, w := range want {
					if !reflect.DeepEqual(got[k], w) {
						t.Fatalf("run %d differs:\ngot  %.600q\nwant %.600q", k, got[k], w)
					}
				}
				t.Fatalf("%d runs, want %d", len(got), len(want))
			}
			if s := plain.Stats(); s.RunsOrphaned == 0 || s.RunsStarted == 0 {
				t.Fatalf("no run started without its root: %+v", s)
			}
		})
	}
}
