package localserver

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

// testStores opens each Store implementation, closed when the test ends.
var testStores = map[string]func(t *testing.T) Store{
	"memory": func(*testing.T) Store { return NewMemoryStore() },
	"bolt":   func(t *testing.T) Store { return openBolt(t, filepath.Join(t.TempDir(), "runs.db")) },
}

func openBolt(t *testing.T, path string) *BoltStore {
	t.Helper()
	b, err := OpenBoltStore(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestStoreSummaries(t *testing.T) {
	for name, open := range testStores {
		t.Run(name, func(t *testing.T) {
			clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			tick := func() time.Time { clock = clock.Add(time.Second); return clock }
			store := open(t)
			s, hs := newTestServer(t, Options{Now: tick, Store: store})

			first := startRun(t, hs, keyA, agentA) // at :01
			// An event without occurred_at counts from its receipt (:02).
			mustPost(t, hs, agentosapi.PathEvents, keyA, fmt.Sprintf(`{"run_id":%q,"events":[
				{"type":"llm.request","occurred_at":"2026-03-01T11:59:59Z"},
				{"type":"x","level":"error"},
				{"type":"llm.response","occurred_at":"2026-03-01T11:59:58.5Z","payload":{"model":"m-1","input_tokens":3,"output_tokens":4}}]}`, first), nil)
			mustPost(t, hs, agentosapi.PathRunFail, keyA, fmt.Sprintf(`{"run_id":%q,"error_message":"boom"}`, first), nil)
			second := startRun(t, hs, keyB, agentB) // at :04

			got, err := store.Summaries()
			if err != nil {
				t.Fatal(err)
			}
			at := func(sec float64) time.Time {
				return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(sec * float64(time.Second)))
			}
			want := []RunSummary{
				{ID: first, AgentID: agentA, TriggerType: "sdk", Status: StatusFailed, ErrorMessage: "boom", EventCount: 3,
					StartedAt: at(1), EndedAt: at(3), FirstEventAt: at(-1.5), LastEventAt: at(2),
					ErrorEvents: 1, LLMCalls: 1, InputTokens: 3, OutputTokens: 4, Models: "m-1"},
				{ID: second, AgentID: agentB, TriggerType: "sdk", Status: StatusRunning, StartedAt: at(4)},
			}
			if len(got) != len(want) {
				t.Fatalf("%d summaries, want %d", len(got), len(want))
			}
			for i := range want {
				if !sameSummary(got[i], want[i]) {
					t.Errorf("summary %d:\n got %+v\nwant %+v", i, got[i], want[i])
				}
			}
			if one, ok, err := store.Summary(second); err != nil || !ok || !sameSummary(one, want[1]) {
				t.Errorf("Summary(%s) = %+v, %v, %v", second, one, ok, err)
			}
			if _, ok, err := store.Summary(noRun); ok || err != nil {
				t.Errorf("Summary of no run: %v, %v", ok, err)
			}
			if err := store.AppendEvents(noRun, nil); !errors.Is(err, ErrUnknownRun) {
				t.Errorf("AppendEvents to no run: %v", err)
			}
			if err := store.Update(noRun, func(*Run) {}); !errors.Is(err, ErrUnknownRun) {
				t.Errorf("Update of no run: %v", err)
			}
			s.Reset()
			if got, err := store.Summaries(); err != nil || len(got) != 0 {
				t.Errorf("after Reset: %v, %v", got, err)
			}
		})
	}
}

func sameSummary(a, b RunSummary) bool {
	times := [][2]time.Time{{a.StartedAt, b.StartedAt}, {a.EndedAt, b.EndedAt}, {a.FirstEventAt, b.FirstEventAt}, {a.LastEventAt, b.LastEventAt}}
	for _, p := range times {
		if !p[0].Equal(p[1]) {
			return false
		}
	}
	a.StartedAt, a.EndedAt, a.FirstEventAt, a.LastEventAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	b.StartedAt, b.EndedAt, b.FirstEventAt, b.LastEventAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b
}

// TestBoltStorePersists restarts a server on the same file: runs, their
// events byte for byte and their lifecycle survive, and sequence numbers
// go on where they stopped.
func TestBoltStorePersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runs.db")
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tick := func() time.Time { clock = clock.Add(time.Second); return clock }

	store, err := OpenBoltStore(path)
	if err != nil {
		t.Fatal(err)
	}
	s1, hs1 := newTestServer(t, Options{Now: tick, Store: store})
	done := startRun(t, hs1, keyA, agentA)
	mustPost(t, hs1, agentosapi.PathEvents, keyA, fmt.Sprintf(`{"run_id":%q,"events":[{"type":"llm.request","payload":{ "model" : "m",  "n":1.50 }}]}`, done), nil)
	mustPost(t, hs1, agentosapi.PathTasks, keyA, fmt.Sprintf(`{"run_id":%q,"task":{"id":%q,"name":"n","status":"running"}}`, done, taskID), nil)
	mustPost(t, hs1, agentosapi.PathRunComplete, keyA, fmt.Sprintf(`{"run_id":%q,"output":{"ok" :true}}`, done), nil)
	open := startRun(t, hs1, keyB, agentB)
	mustPost(t, hs1, agentosapi.PathEvents, keyB, fmt.Sprintf(`{"run_id":%q,"events":[{"type":"a"},{"type":"b"}]}`, open), nil)
	before := s1.Runs()
	hs1.Close()
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	s2, hs2 := newTestServer(t, Options{Now: tick, Store: openBolt(t, path)})
	after := s2.Runs()
	if !reflect.DeepEqual(after, before) {
		t.Fatalf("runs changed across a restart:\nbefore %+v\n after %+v", before, after)
	}
	if p := string(after[0].Events[0].Payload); p != `{ "model" : "m",  "n":1.50 }` {
		t.Errorf("payload stored as %s", p)
	}
	mustPost(t, hs2, agentosapi.PathEvents, keyB, fmt.Sprintf(`{"run_id":%q,"events":[{"type":"c"}]}`, open), nil)
	mustPost(t, hs2, agentosapi.PathRunComplete, keyB, fmt.Sprintf(`{"run_id":%q}`, open), nil)
	if res := post(t, hs2, agentosapi.PathEvents, keyA, fmt.Sprintf(`{"run_id":%q,"events":[{"type":"late"}]}`, done)); res.status != http.StatusConflict {
		t.Errorf("event for a run closed before the restart: %d, want 409", res.status)
	}
	r, _ := s2.Run(open)
	if len(r.Events) != 3 || r.Events[2].Type != "c" || r.Events[2].SequenceNumber != 3 || r.Status != StatusCompleted {
		t.Errorf("run continued after the restart: %+v", r)
	}
	third := startRun(t, hs2, keyA, agentA)
	if runs := s2.Runs(); len(runs) != 3 || runs[2].ID != third {
		t.Errorf("a run started after the restart is not last: %+v", runs)
	}
}

func TestBoltStoreOpenErrors(t *testing.T) {
	dir := t.TempDir()
	inUse := filepath.Join(dir, "in-use.db")
	openBolt(t, inUse)

	otherFormat := filepath.Join(dir, "other.db")
	db, err := bolt.Open(otherFormat, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		return b.Put(keyFormat, []byte("something-else/9"))
	})
	if err := errors.Join(err, db.Close()); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, path string
		is         error
	}{
		{"in use", inUse, ErrStoreInUse},
		{"other format", otherFormat, nil},
		{"a directory", dir, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := OpenBoltStore(tc.path)
			if err == nil {
				_ = b.Close()
				t.Fatal("opened")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("%v, want %v", err, tc.is)
			}
		})
	}
}
