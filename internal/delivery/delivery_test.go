package delivery

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
)

// recorder is an Ingest that enforces the run lifecycle and records, per
// run, the order requests arrived in.
type recorder struct {
	mu      sync.Mutex
	next    int
	runs    map[string][]string
	closed  map[string]bool
	block   chan struct{} // when set, every call waits on it or ctx
	calls   atomic.Int64
	failAll error
}

func newRecorder() *recorder {
	return &recorder{runs: map[string][]string{}, closed: map[string]bool{}}
}

func (r *recorder) wait(ctx context.Context) error {
	r.calls.Add(1)
	if r.block != nil {
		select {
		case <-r.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return r.failAll
}

func (r *recorder) record(runID, what string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.runs[runID]; !ok {
		return fmt.Errorf("%s to unknown run %q", what, runID)
	}
	if r.closed[runID] {
		return fmt.Errorf("%s to closed run %s", what, runID)
	}
	r.runs[runID] = append(r.runs[runID], what)
	return nil
}

func (r *recorder) StartRun(ctx context.Context, req *agentosapi.StartRunRequest) (string, error) {
	if err := r.wait(ctx); err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	id := fmt.Sprintf("run-%s", req.ExternalRunID)
	r.runs[id] = []string{"start"}
	return id, nil
}

func (r *recorder) SendEvents(ctx context.Context, _, runID string, events []agentosapi.Event) error {
	if err := r.wait(ctx); err != nil {
		return err
	}
	return r.record(runID, "events:"+events[0].Type)
}

func (r *recorder) CompleteRun(ctx context.Context, _ string, req *agentosapi.CompleteRunRequest) error {
	if err := r.wait(ctx); err != nil {
		return err
	}
	err := r.record(req.RunID, "complete")
	r.mu.Lock()
	r.closed[req.RunID] = true
	r.mu.Unlock()
	return err
}

func (r *recorder) FailRun(ctx context.Context, _ string, req *agentosapi.FailRunRequest) error {
	if err := r.wait(ctx); err != nil {
		return err
	}
	err := r.record(req.RunID, "fail")
	r.mu.Lock()
	r.closed[req.RunID] = true
	r.mu.Unlock()
	return err
}

func (r *recorder) PutTask(ctx context.Context, _ string, req *agentosapi.TaskRequest) error {
	if err := r.wait(ctx); err != nil {
		return err
	}
	return r.record(req.RunID, "task")
}

func runOps(key runtracker.RunKey, events int) []runtracker.Op {
	ops := []runtracker.Op{{Run: key, Kind: runtracker.OpStart, Start: agentosapi.StartRunRequest{ExternalRunID: fmt.Sprint(key)}}}
	for i := range events {
		ops = append(ops, runtracker.Op{Run: key, Kind: runtracker.OpEvents, Events: []agentosapi.Event{{Type: fmt.Sprint(i)}}})
	}
	return append(ops, runtracker.Op{Run: key, Kind: runtracker.OpClose})
}

func TestOrderPerRunAcrossConcurrentRuns(t *testing.T) {
	rec := newRecorder()
	s := New(rec, Options{Concurrency: 4})
	const runs, events = 50, 20
	// Ops of many runs interleave, submitted in several calls per run.
	for i := range events + 2 {
		var batch []runtracker.Op
		for k := range runs {
			batch = append(batch, runOps(runtracker.RunKey(k+1), events)[i])
		}
		if err := s.Submit(batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(rec.runs) != runs {
		t.Fatalf("%d runs delivered, want %d", len(rec.runs), runs)
	}
	for id, got := range rec.runs {
		if len(got) != events+2 || got[0] != "start" || got[len(got)-1] != "complete" {
			t.Fatalf("%s: %v", id, got)
		}
		for i := 1; i <= events; i++ {
			if got[i] != fmt.Sprintf("events:%d", i-1) {
				t.Fatalf("%s: request %d is %s", id, i, got[i])
			}
		}
	}
}

func TestSubmitNeverBlocksAndQueueIsBounded(t *testing.T) {
	rec := newRecorder()
	rec.block = make(chan struct{})
	var dropped atomic.Int64
	s := New(rec, Options{Concurrency: 2, MaxQueuedEvents: 100, Observer: observerFunc(func(n int) { dropped.Add(int64(n)) })})
	for k := range 100 {
		if err := s.Submit(runOps(runtracker.RunKey(k+1), 5)); err != nil {
			t.Fatal(err)
		}
	}
	// 500 events offered, at most 100 queued: the rest are counted, and every
	// run still gets its start and close.
	if dropped.Load() != 400 {
		t.Fatalf("dropped %d events, want 400", dropped.Load())
	}
	close(rec.block)
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	closedRuns := 0
	for _, c := range rec.closed {
		if c {
			closedRuns++
		}
	}
	if closedRuns != 100 {
		t.Fatalf("%d runs closed, want 100", closedRuns)
	}
}

func TestFailedStartSkipsTheRun(t *testing.T) {
	rec := newRecorder()
	rec.failAll = errors.New("permanent")
	var failures atomic.Int64
	s := New(rec, Options{Observer: failObserver{&failures}})
	_ = s.Submit(runOps(1, 3))
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rec.calls.Load() != 1 {
		t.Fatalf("%d calls after a failed start, want only the start", rec.calls.Load())
	}
	if failures.Load() != 5 {
		t.Fatalf("%d ops reported failed, want 5", failures.Load())
	}
}

func TestShutdownGivesUpAtDeadline(t *testing.T) {
	rec := newRecorder()
	rec.block = make(chan struct{}) // never released: the server hangs
	s := New(rec, Options{})
	_ = s.Submit(runOps(1, 3))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want deadline exceeded", err)
	}
	if err := s.Submit(runOps(2, 1)); !errors.Is(err, ErrStopped) {
		t.Fatalf("Submit after Shutdown: %v", err)
	}
}

type observerFunc func(int)

func (observerFunc) Delivered(*runtracker.Op)     {}
func (observerFunc) Failed(*runtracker.Op, error) {}
func (f observerFunc) DroppedEvents(n int)        { f(n) }

type failObserver struct{ n *atomic.Int64 }

func (failObserver) Delivered(*runtracker.Op)       {}
func (f failObserver) Failed(*runtracker.Op, error) { f.n.Add(1) }
func (failObserver) DroppedEvents(int)              {}
