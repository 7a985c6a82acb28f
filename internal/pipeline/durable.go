package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/delivery"
	"github.com/agentos-ai/agentos-otel/internal/ingest"
	"github.com/agentos-ai/agentos-otel/internal/journal"
	"github.com/agentos-ai/agentos-otel/internal/runtracker"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// ErrStorage is returned when the journal cannot be read or written: spans
// are refused rather than accepted without being stored.
var ErrStorage = errors.New("agentos: storage unusable")

// durable keeps the pipeline's state in a journal so that a crash loses no
// run:
//
//   - spans are stored, grouped by trace, before ConsumeSpans returns;
//   - a run's id is stored before its next request is sent, and the count
//     of its events AgentOS accepted after each batch (delivery.Progress);
//   - a trace's records are deleted once the tracker retired it and its
//     runs are closed in AgentOS.
//
// At start, recover adds the stored spans to the fresh tracker with their
// stored arrival times, in the order they were stored, ticking it where it
// was ticked between them (each chunk records the last tick before it), so
// the tracker rebuilds the same runs (the same spans and ticks in the same
// order give the same runs, indices, event order and event batches) with
// their timers where they were. A run with a stored id is resumed:
// no second run/start, and its first Delivered events are not sent again.
// A run whose start may have reached AgentOS without its id being stored
// is an ambiguous start: counted, logged, and started again. Whether it may
// have is recorded before each attempt of its run/start and taken back
// after one that provably had no effect (a 503), so only real ambiguity
// counts; the run id is stored, in the journal's fast lane, before the
// run's next request.
type durable struct {
	j   *journal.Journal
	log *slog.Logger

	// Guarded by the pipeline's mu.
	resume map[runRef]journal.Run
	skip   map[runtracker.RunKey]int

	mu   sync.Mutex // guards runs; Progress calls come from delivery's workers
	runs map[runtracker.RunKey]runRef

	pending *journal.Recovered // until recover

	mayExist atomic.Int64 // ambiguous starts found at recovery
	lastLog  atomic.Int64 // unix nanos of the last storage error logged
}

type runRef struct {
	trace spans.TraceID
	index int
}

func openDurable(store journal.Store, maxBytes int64, log *slog.Logger) (*durable, error) {
	j, rec, err := journal.Open(context.Background(), store, journal.Options{MaxBytes: maxBytes})
	if err != nil {
		return nil, fmt.Errorf("%w: opening the journal: %w", ErrStorage, err)
	}
	d := &durable{j: j, log: log, resume: map[runRef]journal.Run{},
		skip: map[runtracker.RunKey]int{}, runs: map[runtracker.RunKey]runRef{}}
	d.pending = rec
	return d, nil
}

// recover replays the recovered traces into tracker and submits what they
// lead to. Called once, before the pipeline takes spans.
// replay adds the traces' chunks to the tracker; holds says whether a
// trace's log records still wait for their span.
func (d *durable) recover(tracker *runtracker.Tracker, submit func([]runtracker.Op) error,
	replay func([]journal.Trace) ([]runtracker.Op, int), holds func(spans.TraceID) bool) error {
	rec := d.pending
	d.pending = nil
	if rec == nil || len(rec.Traces) == 0 {
		return nil
	}
	var ops []runtracker.Op
	resumed := 0
	// The Collector samples repeated log lines: the summary names them too.
	var mayExist []string
	for _, tr := range rec.Traces {
		for _, r := range tr.Runs {
			if r.RunID == "" && !r.MayExist {
				continue // its start never reached AgentOS: it starts as new
			}
			if r.RunID == "" {
				d.mayExist.Add(1)
				if len(mayExist) < maxNamedMayExist {
					mayExist = append(mayExist, r.ExternalRunID)
				}
				// Starting the run again: the one the crash left may be open.
				d.log.Warn(delivery.MayExistMessage(r.ExternalRunID), slog.String("cause", "run/start was in flight at the crash"),
					slog.String("external_run_id", r.ExternalRunID), slog.String("trace_id", tr.ID.String()))
				continue
			}
			d.resume[runRef{tr.ID, r.Index}] = r
			resumed++
		}
	}
	ops, spansN := replay(rec.Traces)
	for _, tr := range rec.Traces {
		if !tracker.Tracking(tr.ID) && !holds(tr.ID) {
			// Its spans were all late or dropped, its records too: nothing
			// will retire it.
			d.retired(tr.ID)
		}
	}
	d.log.Info("AgentOS exporter resumed its stored state",
		slog.Int("traces", len(rec.Traces)), slog.Int("spans", spansN), slog.Int("runs_resumed", resumed),
		slog.Int64("runs_may_exist", d.mayExist.Load()), slog.Any("may_exist_external_run_ids", mayExist))
	return submit(ops)
}

// inStoredOrder lists the chunks of every trace in the order they were
// stored: by time, a trace's own in their order whatever the clock did.
func inStoredOrder(traces []journal.Trace) []*journal.Chunk {
	var all []*journal.Chunk
	for i := range traces {
		for k := range traces[i].Chunks {
			all = append(all, &traces[i].Chunks[k])
		}
	}
	slices.SortStableFunc(all, func(a, b *journal.Chunk) int { return a.Time.Compare(b.Time) })
	return all
}

// maxNamedMayExist bounds the external_run_ids the resume summary names.
const maxNamedMayExist = 200

// add stores a batch, then hands it to the tracker. Called with the
// pipeline's mu held, so the journal's order is the tracker's.
func (d *durable) add(ctx context.Context, tracker *runtracker.Tracker, now time.Time, batch []spans.Span,
	take func(time.Time, []spans.Span) []runtracker.Op) ([]runtracker.Op, error) {
	if err := storeErr(d.j.Append(ctx, now, batch)); err != nil {
		return nil, err
	}
	ops := take(now, batch)
	for i := range batch {
		// A late span's trace is not tracked again, so nothing would
		// retire what was just stored for it.
		if id := batch[i].TraceID; (i == 0 || id != batch[i-1].TraceID) && !tracker.Tracking(id) {
			d.retired(id)
		}
	}
	return ops, nil
}

// addLogs stores log records, as carriers (logjoin.Carriers). Called with
// the pipeline's mu held.
func (d *durable) addLogs(ctx context.Context, now time.Time, carriers []spans.Span) error {
	return storeErr(d.j.AppendLogs(ctx, now, carriers))
}

func storeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, journal.ErrFull):
		return &bufferFullError{cause: err}
	}
	return fmt.Errorf("%w: %w", ErrStorage, err)
}

// prepare notes the traces the tracker retired and the runs it starts, and
// turns the starts of recovered runs into resumptions. Called with the
// pipeline's mu held, before ops reach delivery.
func (d *durable) prepare(tracker *runtracker.Tracker, ops []runtracker.Op) []runtracker.Op {
	out := ops[:0]
	for _, op := range ops {
		switch op.Kind {
		case runtracker.OpStart:
			ref := runRef{op.TraceID, op.RunIndex}
			d.mu.Lock()
			d.runs[op.Run] = ref
			d.mu.Unlock()
			d.j.RunQueued(op.TraceID)
			if r, ok := d.resume[ref]; ok {
				delete(d.resume, ref)
				op.RunID = r.RunID
				if r.Delivered > 0 {
					d.skip[op.Run] = r.Delivered
				}
			}
		case runtracker.OpEvents:
			if n := d.skip[op.Run]; n > 0 {
				k := min(n, len(op.Events))
				op.Events = op.Events[k:]
				if n -= k; n > 0 {
					d.skip[op.Run] = n
				} else {
					delete(d.skip, op.Run)
				}
				if len(op.Events) == 0 {
					continue
				}
			}
		case runtracker.OpClose:
			delete(d.skip, op.Run)
		}
		out = append(out, op)
	}
	clear(ops[len(out):])
	// After RunQueued: a trace retired with its runs' closes in ops stays
	// until they are delivered.
	for _, id := range tracker.TakeRetired() {
		d.retired(id)
	}
	return out
}

func (d *durable) retired(id spans.TraceID) {
	d.report(d.j.Retired(id))
}

func (d *durable) ref(key runtracker.RunKey) (runRef, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.runs[key]
	return r, ok
}

// Starting implements delivery.Progress: the start's attempts are
// recorded as they are made.
func (d *durable) Starting(ctx context.Context, op *runtracker.Op) context.Context {
	ref, ok := d.ref(op.Run)
	if !ok {
		return ctx
	}
	return ingest.WithStartObserver(ctx, &startAttempts{d: d, ref: ref, external: op.Start.ExternalRunID})
}

// startAttempts records, before each attempt of a run/start, that the run
// may exist, and takes it back while every attempt failed without effect.
type startAttempts struct {
	d         *durable
	ref       runRef
	external  string
	ambiguous bool // an attempt may have taken effect
}

func (a *startAttempts) Sending() {
	a.d.report(a.d.j.RunStarting(context.Background(), a.ref.trace, a.ref.index, a.external))
}

func (a *startAttempts) Attempted(err error) {
	switch {
	case err == nil:
		// Done stores the run id.
	case ingest.IsAmbiguous(err):
		a.ambiguous = true
	case !a.ambiguous:
		a.d.report(a.d.j.RunUnsent(context.Background(), a.ref.trace, a.ref.index))
	}
}

// Done implements delivery.Progress.
func (d *durable) Done(op *runtracker.Op, runID string, err error) {
	ref, ok := d.ref(op.Run)
	if !ok {
		return
	}
	ctx := context.Background()
	switch {
	case op.Kind == runtracker.OpStart && err == nil && op.RunID == "":
		d.report(d.j.RunStarted(ctx, ref.trace, ref.index, runID))
	case op.Kind == runtracker.OpEvents && err == nil:
		d.report(d.j.EventsDelivered(ctx, ref.trace, ref.index, len(op.Events)))
	case op.Kind == runtracker.OpClose:
		d.mu.Lock()
		delete(d.runs, op.Run)
		d.mu.Unlock()
		// A run that could not be delivered for now (AgentOS down past the
		// retries, or the shutdown's deadline) stays stored, for the next
		// start to deliver; one that never can be is let go.
		keep := err != nil && !ingest.IsPermanent(err)
		d.report(d.j.RunFinished(ref.trace, keep))
	}
}

// sync stores the deletions of finished traces that wait for the next
// write.
func (d *durable) sync(ctx context.Context) error {
	if err := d.j.Sync(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrStorage, err)
	}
	return nil
}

// report logs a storage error, at most every 10 s: the state is then not
// crash-safe, but delivery goes on.
func (d *durable) report(err error) {
	if err == nil {
		return
	}
	now := time.Now().UnixNano()
	last := d.lastLog.Load()
	if now-last < int64(10*time.Second) || !d.lastLog.CompareAndSwap(last, now) {
		return
	}
	d.log.Error("AgentOS exporter could not store its progress; a crash now may resend or lose what it concerns",
		slog.String("error", err.Error()))
}
