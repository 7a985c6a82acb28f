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
	hang    string        // calls of the run with this external id wait for ctx
	calls   atomic.Int64
	failAll error
}

func newRecorder() *recorder {
	return &recorder{runs: map[string][]string{}, closed: map[string]bool{}}
}

func (r *recorder) wait(ctx context.Context, run string) error {
	r.calls.Add(1)
	if r.hang != "" && (run == r.hang || run == "run-"+r.hang) {
		<-ctx.Done()
		return ctx.Err()
	}
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
	if err := r.wait(ctx, req.ExternalRunID); err != nil {
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
	if err := r.wait(ctx, runID); err != nil {
		return err
	}
	return r.record(runID, "events:"+events[0].Type)
}

func (r *recorder) CompleteRun(ctx context.Context, _ string, req *agentosapi.CompleteRunRequest) error {
	if err := r.wait(ctx, req.RunID); err != nil {
		return err
	}
	err := r.record(req.RunID, "complete")
	r.mu.Lock()
	r.closed[req.RunID] = true
	r.mu.Unlock()
	return err
}

func (r *recorder) FailRun(ctx context.Context, _ string, req *agentosapi.FailRunRequest) error {
	if err := r.wait(ctx, req.RunID); err != nil {
		return err
	}
	err := r.record(req.RunID, "fail")
	r.mu.Lock()
	r.closed[req.RunID] = true
	r.mu.Unlock()
	return err
}

func (r *recorder) PutTask(ctx context.Context, _ string, req *agentosapi.TaskRequest) error {
	if err := r.wait(ctx, req.RunID); err != nil {
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

func TestSubmitNeverBlocksNorDropsAndAccountsBytes(t *testing.T) {
	rec := newRecorder()
	rec.block = make(chan struct{})
	s := New(rec, Options{Concurrency: 2})
	var want int64
	for k := range 100 {
		ops := runOps(runtracker.RunKey(k+1), 5)
		for i := range ops {
			want += ops[i].Size()
		}
		if err := s.Submit(ops); err != nil {
			t.Fatal(err)
		}
	}
	// Two runs are on the wire, the rest wait: all of it is accounted for.
	if got := s.QueuedBytes(); got != want {
		t.Fatalf("QueuedBytes = %d, want %d", got, want)
	}
	freed := s.Freed()
	close(rec.block)
	<-freed
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := s.QueuedBytes(); got != 0 {
		t.Fatalf("QueuedBytes = %d after delivery, want 0", got)
	}
	for id, got := range rec.runs {
		if len(got) != 7 || !rec.closed[id] {
			t.Fatalf("%s: %v, closed %v", id, got, rec.closed[id])
		}
	}
	if len(rec.runs) != 100 {
		t.Fatalf("%d runs delivered, want 100", len(rec.runs))
	}
}

// A flush waits for what was submitted before it, not for the sender to be
// idle: a run that hangs after the call does not hold it up.
func TestFlushWaitsForWhatWasSubmittedBefore(t *testing.T) {
	rec := newRecorder()
	rec.hang = "later"
	s := New(rec, Options{})
	defer func() { _ = s.Shutdown(canceledContext()) }()
	if err := s.Submit(runOps(1, 3)); err != nil {
		t.Fatal(err)
	}
	m := s.Mark()
	later := runOps(2, 1)
	later[0].Start.ExternalRunID = "later"
	if err := s.Submit(later); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Wait(ctx, m); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if got := rec.runs["run-1"]; len(got) != 5 || !rec.closed["run-1"] {
		t.Fatalf("run 1 at the mark: %v", got)
	}
	// The later run is still hanging, so the sender was not idle.
	if err := s.Flush(canceledContext()); err == nil {
		t.Fatal("Flush of the hanging run returned nil")
	}
}

func canceledContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestFailedStartSkipsTheRun(t *testing.T) {
	rec := newRecorder()
	rec.failAll = errors.New("permanent")
	obs := &countObserver{}
	s := New(rec, Options{Observer: obs})
	_ = s.Submit(runOps(1, 3))
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rec.calls.Load() != 1 {
		t.Fatalf("%d calls after a failed start, want only the start", rec.calls.Load())
	}
	// One request failed; the run's other ops were never sent.
	if obs.failed.Load() != 1 || obs.skipped.Load() != 4 {
		t.Fatalf("%d ops failed and %d skipped, want 1 and 4", obs.failed.Load(), obs.skipped.Load())
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

type countObserver struct{ delivered, failed, skipped, deferred atomic.Int64 }

func (o *countObserver) Delivered(*runtracker.Op)       { o.delivered.Add(1) }
func (o *countObserver) Failed(*runtracker.Op, error)   { o.failed.Add(1) }
func (o *countObserver) Skipped(*runtracker.Op)         { o.skipped.Add(1) }
func (o *countObserver) Deferred(*runtracker.Op, error) { o.deferred.Add(1) }
