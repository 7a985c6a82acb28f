package journal

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

func span(trace byte, id byte, parent byte) spans.Span {
	s := spans.Span{TraceID: spans.TraceID{trace}, SpanID: spans.SpanID{id}, Name: "s",
		StartTime: time.Unix(100, 0).UTC(), EndTime: time.Unix(101, 0).UTC()}
	if parent != 0 {
		s.ParentSpanID = spans.SpanID{parent}
	}
	return s
}

func open(t *testing.T, store Store, opts Options) (*Journal, *Recovered) {
	t.Helper()
	j, rec, err := Open(context.Background(), store, opts)
	if err != nil {
		t.Fatal(err)
	}
	return j, rec
}

func TestRecoverTracesAndRuns(t *testing.T) {
	ctx := context.Background()
	store := NewMemStore()
	j, rec := open(t, store, Options{})
	if len(rec.Traces) != 0 {
		t.Fatalf("empty store recovered %d traces", len(rec.Traces))
	}
	t1, t2 := time.Unix(1000, 0).UTC(), time.Unix(1001, 0).UTC()
	must(t, j.Append(ctx, t1, []spans.Span{span(1, 2, 1), span(2, 1, 0), span(1, 3, 1)}))
	tick := t1.Add(500 * time.Millisecond)
	j.Ticked(tick)
	must(t, j.Append(ctx, t2, []spans.Span{span(1, 1, 0)}))
	j.RunQueued(spans.TraceID{1})
	must(t, j.RunStarting(ctx, spans.TraceID{1}, 0, "ext-1"))
	must(t, j.RunStarted(ctx, spans.TraceID{1}, 0, "run-1"))
	must(t, j.EventsDelivered(ctx, spans.TraceID{1}, 0, 3))
	must(t, j.EventsDelivered(ctx, spans.TraceID{1}, 0, 2))
	j.RunQueued(spans.TraceID{2})
	must(t, j.RunStarting(ctx, spans.TraceID{2}, 1, "ext-2"))
	if got, want := j.Bytes(), store.Bytes()-int64(len(keyHeader)+3); got != want {
		t.Errorf("Bytes %d, store holds %d besides the header", got, want)
	}

	_, rec = open(t, store, Options{})
	if len(rec.Traces) != 2 {
		t.Fatalf("recovered %d traces, want 2", len(rec.Traces))
	}
	a, b := rec.Traces[0], rec.Traces[1]
	if a.ID != (spans.TraceID{1}) || b.ID != (spans.TraceID{2}) {
		t.Fatalf("traces out of order: %v %v", a.ID, b.ID)
	}
	if !a.FirstSeen.Equal(t1) || len(a.Chunks) != 2 || !a.Chunks[1].Time.Equal(t2) {
		t.Errorf("trace 1: first seen %v, %d chunks", a.FirstSeen, len(a.Chunks))
	} else if !a.Chunks[0].AfterTick.IsZero() || !a.Chunks[1].AfterTick.Equal(tick) {
		t.Errorf("ticks before the chunks: %v, %v; want none, then %v", a.Chunks[0].AfterTick, a.Chunks[1].AfterTick, tick)
	}
	var ids []byte
	for _, c := range a.Chunks {
		for _, s := range c.Spans {
			ids = append(ids, s.SpanID[0])
		}
	}
	if string(ids) != "\x02\x03\x01" {
		t.Errorf("spans in order %v, want 2 3 1", ids)
	}
	if len(a.Runs) != 1 || a.Runs[0] != (Run{Index: 0, RunID: "run-1", Delivered: 5, ExternalRunID: "ext-1"}) {
		t.Errorf("trace 1 runs %+v", a.Runs)
	}
	if len(b.Runs) != 1 || b.Runs[0] != (Run{Index: 1, MayExist: true, ExternalRunID: "ext-2"}) {
		t.Errorf("trace 2 runs %+v: want one that may have started", b.Runs)
	}
}

func TestDeleteWhenRetiredAndFinished(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		steps    func(j *Journal)
		wantOpen int
	}{
		{"finished then retired", func(j *Journal) {
			must(t, j.RunFinished(spans.TraceID{1}, false))
			must(t, j.Retired(spans.TraceID{1}))
		}, 0},
		{"retired then finished", func(j *Journal) {
			must(t, j.Retired(spans.TraceID{1}))
			must(t, j.RunFinished(spans.TraceID{1}, false))
		}, 0},
		{"retired, run pending", func(j *Journal) {
			must(t, j.Retired(spans.TraceID{1}))
		}, 1},
		{"kept for the next start", func(j *Journal) {
			must(t, j.Retired(spans.TraceID{1}))
			must(t, j.RunFinished(spans.TraceID{1}, true))
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := NewMemStore()
			j, _ := open(t, store, Options{})
			must(t, j.Append(ctx, time.Now(), []spans.Span{span(1, 1, 0), span(1, 2, 1)}))
			must(t, j.Append(ctx, time.Now(), []spans.Span{span(1, 3, 1)}))
			j.RunQueued(spans.TraceID{1})
			must(t, j.RunStarting(ctx, spans.TraceID{1}, 0, "x"))
			must(t, j.RunStarted(ctx, spans.TraceID{1}, 0, "r"))
			tc.steps(j)
			must(t, j.Sync(ctx))
			if j.Open() != tc.wantOpen {
				t.Fatalf("%d traces open, want %d", j.Open(), tc.wantOpen)
			}
			_, rec := open(t, store, Options{})
			if len(rec.Traces) != tc.wantOpen {
				t.Errorf("recovered %d traces, want %d", len(rec.Traces), tc.wantOpen)
			}
			if tc.wantOpen == 0 {
				if store.Len() != 1 || j.Bytes() != 0 {
					t.Errorf("%d keys left (want the header only), Bytes %d", store.Len(), j.Bytes())
				}
			}
		})
	}
}

// Deleted traces leave no gap that recovery walks forever: lo follows.
func TestIndexCompacts(t *testing.T) {
	ctx := context.Background()
	store := NewMemStore()
	j, _ := open(t, store, Options{})
	for i := range 100 {
		id := spans.TraceID{byte(i), 1}
		s := span(0, 1, 0)
		s.TraceID = id
		must(t, j.Append(ctx, time.Now(), []spans.Span{s}))
		if i == 50 {
			continue // stays open
		}
		must(t, j.Retired(id))
	}
	must(t, j.Sync(ctx))
	if j.lo != 50 || j.hi != 100 {
		t.Errorf("index [%d, %d), want [50, 100)", j.lo, j.hi)
	}
	j2, rec := open(t, store, Options{})
	if len(rec.Traces) != 1 || rec.Traces[0].ID != (spans.TraceID{50, 1}) || j2.lo != 50 {
		t.Errorf("recovered %d traces, lo %d", len(rec.Traces), j2.lo)
	}
}

func TestFullAndBroken(t *testing.T) {
	ctx := context.Background()
	store := NewMemStore()
	j, _ := open(t, store, Options{MaxBytes: 300})
	must(t, j.Append(ctx, time.Now(), []spans.Span{span(1, 1, 0)}))
	var big []spans.Span
	for i := range 10 {
		big = append(big, span(2, byte(i+1), 0))
	}
	if err := j.Append(ctx, time.Now(), big); !errors.Is(err, ErrFull) {
		t.Fatalf("error %v, want ErrFull", err)
	}
	if _, rec := open(t, store, Options{}); len(rec.Traces) != 1 {
		t.Errorf("a refused batch was stored: %d traces", len(rec.Traces))
	}

	broken := errors.New("disk gone")
	store.Fail(broken)
	if err := j.Append(ctx, time.Now(), []spans.Span{span(3, 1, 0)}); !errors.Is(err, ErrStore) || !errors.Is(err, broken) {
		t.Errorf("error %v, want ErrStore wrapping the cause", err)
	}
	if _, _, err := Open(ctx, store, Options{}); !errors.Is(err, ErrStore) {
		t.Errorf("Open error %v, want ErrStore", err)
	}
	store.Fail(nil)
	// What the failed write left is unknown: the journal stays broken.
	if err := j.Append(ctx, time.Now(), []spans.Span{span(4, 1, 0)}); !errors.Is(err, ErrStore) {
		t.Errorf("after a failed write: %v, want ErrStore", err)
	}
	j.RunQueued(spans.TraceID{1})
	if err := j.RunStarted(ctx, spans.TraceID{1}, 0, "r"); !errors.Is(err, ErrStore) {
		t.Errorf("RunStarted after a failed write: %v, want ErrStore", err)
	}
	if err := j.Retired(spans.TraceID{1}); !errors.Is(err, ErrStore) {
		t.Errorf("Retired after a failed write: %v, want ErrStore", err)
	}
	if err := j.Sync(ctx); !errors.Is(err, ErrStore) {
		t.Errorf("Sync after a failed write: %v, want ErrStore", err)
	}
}

// Concurrent callers share writes and none is lost.
func TestConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	store := NewMemStore()
	j, _ := open(t, store, Options{})
	const n = 50
	done := make(chan error, n)
	for i := range n {
		go func() {
			id := spans.TraceID{byte(i), 7}
			s := span(0, 1, 0)
			s.TraceID = id
			err := j.Append(ctx, time.Now(), []spans.Span{s})
			if err == nil {
				j.RunQueued(id)
				err = j.RunStarting(ctx, id, 0, "x")
			}
			if err == nil {
				err = j.RunStarted(ctx, id, 0, "run")
			}
			if err == nil && i%2 == 0 {
				if err = j.Retired(id); err == nil {
					err = j.RunFinished(id, false)
				}
			}
			done <- err
		}()
	}
	for range n {
		must(t, <-done)
	}
	must(t, j.Sync(ctx))
	j2, rec := open(t, store, Options{})
	if len(rec.Traces) != n/2 || j2.Bytes() != j.Bytes() {
		t.Fatalf("recovered %d traces (%d bytes), want %d (%d bytes)", len(rec.Traces), j2.Bytes(), n/2, j.Bytes())
	}
	for _, tr := range rec.Traces {
		if len(tr.Runs) != 1 || tr.Runs[0].RunID != "run" || len(tr.Chunks) != 1 {
			t.Errorf("trace %v: %+v", tr.ID, tr)
		}
	}
}

func TestCorruptHeader(t *testing.T) {
	for _, tc := range []struct {
		name string
		w    Write
	}{
		{"unknown version", Write{Key: keyHeader, Value: []byte{0xff}}},
		{"truncated", Write{Key: keyHeader, Value: []byte{headerVersion}}},
		{"first layout", Write{Key: keyOldHeader, Value: []byte{0, 3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := NewMemStore()
			must(t, store.Write(context.Background(), []Write{tc.w}))
			if _, _, err := Open(context.Background(), store, Options{}); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v, want ErrCorrupt", err)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// gatedStore holds every Write that stores spans until release is closed.
type gatedStore struct {
	*MemStore
	release chan struct{}
	held    chan struct{} // receives once a Write is held
}

func (s *gatedStore) Write(ctx context.Context, ws []Write) error {
	for _, w := range ws {
		if len(w.Key) > 9 && w.Key[9] == sufChunk && w.Value != nil {
			s.held <- struct{}{}
			<-s.release
			break
		}
	}
	return s.MemStore.Write(ctx, ws)
}

// A run's progress is stored while a batch of spans is still being
// written: it does not wait behind them.
func TestRunProgressDoesNotWaitForSpans(t *testing.T) {
	ctx := context.Background()
	store := &gatedStore{MemStore: NewMemStore(), release: make(chan struct{}), held: make(chan struct{}, 1)}
	j, _ := open(t, store, Options{})
	appended := make(chan error, 1)
	go func() { appended <- j.Append(ctx, time.Now(), []spans.Span{span(1, 1, 0)}) }()
	<-store.held
	close(store.release) // trace 1 is stored
	must(t, <-appended)
	store.release = make(chan struct{}) // trace 2's spans are held
	go func() { appended <- j.Append(ctx, time.Now(), []spans.Span{span(2, 1, 0)}) }()
	<-store.held
	j.RunQueued(spans.TraceID{1})
	must(t, j.RunStarting(ctx, spans.TraceID{1}, 0, "ext-1"))
	must(t, j.RunStarted(ctx, spans.TraceID{1}, 0, "run-1"))
	_, rec := open(t, store.MemStore.Clone(), Options{})
	if len(rec.Traces) != 1 || len(rec.Traces[0].Runs) != 1 || rec.Traces[0].Runs[0].RunID != "run-1" {
		t.Errorf("while spans were being written, stored %+v; want trace 1 with its run id", rec.Traces)
	}
	close(store.release)
	must(t, <-appended)
}

// A start whose attempts all failed without effect is not one that may
// exist; one attempt that may have taken effect makes it so for good.
func TestStartIntent(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		steps func(j *Journal, id spans.TraceID)
		want  Run
	}{
		{"attempt in flight", func(j *Journal, id spans.TraceID) {
			must(t, j.RunStarting(ctx, id, 0, "x"))
		}, Run{MayExist: true, ExternalRunID: "x"}},
		{"attempt without effect", func(j *Journal, id spans.TraceID) {
			must(t, j.RunStarting(ctx, id, 0, "x"))
			must(t, j.RunUnsent(ctx, id, 0))
		}, Run{ExternalRunID: "x"}},
		{"started", func(j *Journal, id spans.TraceID) {
			must(t, j.RunStarting(ctx, id, 0, "x"))
			must(t, j.RunStarted(ctx, id, 0, "r"))
			must(t, j.RunUnsent(ctx, id, 0))
		}, Run{RunID: "r", ExternalRunID: "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := NewMemStore()
			j, _ := open(t, store, Options{})
			id := spans.TraceID{9}
			must(t, j.Append(ctx, time.Now(), []spans.Span{span(9, 1, 0)}))
			j.RunQueued(id)
			tc.steps(j, id)
			_, rec := open(t, store, Options{})
			if len(rec.Traces) != 1 || len(rec.Traces[0].Runs) != 1 || rec.Traces[0].Runs[0] != tc.want {
				t.Errorf("recovered %+v, want run %+v", rec.Traces, tc.want)
			}
		})
	}
}
