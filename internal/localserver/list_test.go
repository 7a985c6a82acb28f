package localserver

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

// TestStoreList pages through runs newest first, in both directions, with
// each filter, and checks every run is reached exactly once.
func TestStoreList(t *testing.T) {
	for name, open := range testStores {
		t.Run(name, func(t *testing.T) {
			store := open(t)
			t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			var ids []string // oldest first
			for i := range 23 {
				r := Run{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), AgentID: []string{agentA, agentB}[i%2], TriggerType: "sdk",
					ExternalRunID: fmt.Sprintf("ext-%d", i), Status: StatusRunning,
					Input: []byte(fmt.Sprintf(`{"messages":[{"role":"user","content":"Question number %d about Paris"}]}`, i)),
					// Two runs start at the same time: the id breaks the tie.
					StartedAt: t0.Add(time.Duration(i/2*2) * time.Minute)}
				if err := store.Add(r); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, r.ID)
				if i%3 == 0 {
					if err := store.Update(r.ID, func(r *Run) { r.Status, r.ErrorMessage = StatusFailed, "Tool BROKE" }); err != nil {
						t.Fatal(err)
					}
				}
			}
			// An event that happened before its run/start moves the run's
			// start back, and so its place in the list.
			if err := store.AppendEvents(ids[22], []RecordedEvent{{Event: agentosapi.Event{Type: "x", OccurredAt: t0.Add(-time.Hour).Format(time.RFC3339Nano)}, SequenceNumber: 1}}); err != nil {
				t.Fatal(err)
			}
			newestFirst := append([]string{ids[21], ids[20]}, nil...)
			for i := 19; i >= 0; i -= 2 {
				newestFirst = append(newestFirst, ids[i], ids[i-1])
			}
			newestFirst = append(newestFirst[:20], ids[1], ids[0], ids[22])

			pageIDs := func(l Listing) (out []string) {
				for _, s := range l.Runs {
					out = append(out, s.ID)
				}
				return out
			}
			// Older, page by page.
			var seen []string
			q := Query{Limit: 5}
			for n := 0; ; n++ {
				l, err := store.List(q)
				if err != nil {
					t.Fatal(err)
				}
				if l.Total != 23 || l.Matched != 23 {
					t.Fatalf("total %d, matched %d", l.Total, l.Matched)
				}
				seen = append(seen, pageIDs(l)...)
				if l.Older == "" {
					break
				}
				if n > 10 {
					t.Fatal("paging does not end")
				}
				q = Query{Limit: 5, Before: l.Older}
			}
			if !slices.Equal(seen, newestFirst) {
				t.Fatalf("paged:\n got %v\nwant %v", seen, newestFirst)
			}
			// And back, newer, from the last page.
			l, _ := store.List(Query{Limit: 5, Before: cursorOf(t, store, newestFirst[9])})
			if got := pageIDs(l); !slices.Equal(got, newestFirst[10:15]) {
				t.Errorf("before the 10th: %v, want %v", got, newestFirst[10:15])
			}
			l, _ = store.List(Query{Limit: 5, After: l.Newer})
			if got := pageIDs(l); !slices.Equal(got, newestFirst[5:10]) {
				t.Errorf("newer: %v, want %v", got, newestFirst[5:10])
			}

			for _, tc := range []struct {
				name string
				q    Query
				want int
			}{
				{"status", Query{Status: StatusFailed}, 8},
				{"agent", Query{AgentID: agentB}, 11},
				{"text in the error, any case", Query{Text: "tool broke"}, 8},
				{"text in the input", Query{Text: "number 17 about"}, 1},
				{"text in the external run id", Query{Text: "EXT-2"}, 4}, // 2, 20, 21, 22
				{"no text in keys", Query{Text: "messages"}, 0},
				{"from", Query{From: t0.Add(20 * time.Minute)}, 2},
				{"to", Query{To: t0.Add(2 * time.Minute)}, 3},
				{"all at once", Query{Status: StatusFailed, AgentID: agentA, Text: "paris", From: t0, To: t0.Add(13 * time.Minute)}, 3}, // 0, 6, 12
			} {
				l, err := store.List(tc.q)
				if err != nil {
					t.Fatal(err)
				}
				if l.Matched != tc.want || len(l.Runs) != tc.want {
					t.Errorf("%s: matched %d, listed %d, want %d", tc.name, l.Matched, len(l.Runs), tc.want)
				}
			}
			l, _ = store.List(Query{Text: "paris", Status: StatusFailed})
			if l.Counts[StatusFailed] != 8 || l.Counts[StatusRunning] != 15 {
				t.Errorf("counts %v", l.Counts)
			}
			if _, err := store.List(Query{Before: "nonsense"}); !errors.Is(err, ErrBadCursor) {
				t.Errorf("bad cursor: %v", err)
			}
		})
	}
}

func cursorOf(t *testing.T, store Store, id string) string {
	t.Helper()
	s, ok, err := store.Summary(id)
	if !ok || err != nil {
		t.Fatal(id, err)
	}
	return s.Cursor()
}

// TestBoltStoreConvertsFormat1 opens a file as the previous version wrote
// it: its runs, events and summaries are all there.
func TestBoltStoreConvertsFormat1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	run := Run{ID: "00000000-0000-4000-8000-000000000001", AgentID: agentA, TriggerType: "sdk", Status: StatusCompleted,
		Input: []byte(`{"q":"hello there"}`), Output: []byte(`{"a":"done"}`), StartedAt: t0, EndedAt: t0.Add(time.Second),
		Tasks: []agentosapi.Task{{ID: agentB, Name: "t", Status: "completed"}}}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket(bucketMeta)
		runs, _ := tx.CreateBucket(bucketRuns)
		ids, _ := tx.CreateBucket(bucketIDs)
		events, _ := tx.CreateBucket(bucketEvents)
		key := seqKey(1)
		v, err := encode(boltRun{Run: run, EventCount: 1})
		if err != nil {
			return err
		}
		evs, _ := events.CreateBucket(key)
		ev, err := encode(RecordedEvent{Event: agentosapi.Event{Type: "llm.response", Payload: []byte(`{"model":"m","input_tokens":5}`)}, SequenceNumber: 1, ReceivedAt: t0})
		return errors.Join(err, meta.Put(keyFormat, []byte(boltFormat1)), runs.Put(key, v), ids.Put([]byte(run.ID), key), evs.Put(seqKey(1), ev))
	})
	if err := errors.Join(err, db.Close()); err != nil {
		t.Fatal(err)
	}
	store := openBolt(t, path)
	l, err := store.List(Query{Text: "hello"})
	if err != nil || len(l.Runs) != 1 {
		t.Fatalf("%+v %v", l, err)
	}
	if s := l.Runs[0]; s.EventCount != 1 || s.InputTokens != 5 || s.Models != "m" || s.InputPreview != "hello there" || s.OutputPreview != "done" {
		t.Errorf("converted summary %+v", s)
	}
	got, ok, err := store.Run(run.ID)
	if err != nil || !ok || len(got.Events) != 1 || string(got.Output) != `{"a":"done"}` || len(got.Tasks) != 1 || got.Tasks[0].Name != "t" {
		t.Errorf("converted run %+v %v", got, err)
	}
}
