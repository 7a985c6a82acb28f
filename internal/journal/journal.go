package journal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// Store is a durable key-value store. Get returns nil and no error for a
// missing key. Write applies its writes atomically, in order; a nil Value
// deletes its key.
type Store interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Write(ctx context.Context, writes []Write) error
}

// Write sets Key to Value, or deletes Key when Value is nil.
type Write struct {
	Key   string
	Value []byte
}

// DefaultMaxBytes bounds what the journal stores unless Options say
// otherwise.
const DefaultMaxBytes = 1 << 30

// Options configure a Journal.
type Options struct {
	// MaxBytes bounds the bytes of the records stored; Append refuses a
	// batch that would pass it with ErrFull. Default DefaultMaxBytes.
	MaxBytes int64
}

var (
	// ErrFull is returned by Append at the MaxBytes bound: AgentOS is not
	// taking the runs as fast as they arrive. Nothing of the batch was
	// stored.
	ErrFull = errors.New("journal: full")
	// ErrStore wraps an error of the Store: the journal cannot be read or
	// written.
	ErrStore = errors.New("journal: storage failed")
)

// Journal is safe for concurrent use. Its writes are applied in the order
// their calls changed its state, so records that several calls rewrite (a
// trace's meta record, the header) end as the last call left them. Once a
// write fails the journal is broken: every later call returns ErrStore.
type Journal struct {
	store Store
	max   int64

	mu     sync.Mutex
	traces map[spans.TraceID]*traceState
	bytes  int64
	// lo and hi bound the sequence numbers of index records: every open
	// trace has one in [lo, hi). live holds those still in use.
	lo, hi uint64
	live   map[uint64]bool

	// Group commit: writes queue up while a Write is in flight and go
	// together in the next, so concurrent callers share transactions.
	cond     *sync.Cond
	queue    []Write
	queued   uint64 // number of the batch being queued
	flushed  uint64 // batches written
	flushing bool
	broken   error // sticky: once a write failed, what is stored is not known
}

type traceState struct {
	seq       uint64 // of its index record
	firstSeen time.Time
	chunks    uint64
	// chunkBytes is the size of its chunk records.
	chunkBytes int64
	runs       map[int]*runRecord
	// pending counts its runs queued for delivery and not finished.
	pending int
	retired bool // the tracker is done with it
	keep    bool // a run could not be delivered for now: keep it for the next start
}

type runRecord struct {
	runID     string
	delivered int
	external  string
}

// Recovered is the state a journal held when it was opened.
type Recovered struct {
	// Traces in the order they were first seen.
	Traces []Trace
}

// Trace is a recovered trace.
type Trace struct {
	ID        spans.TraceID
	FirstSeen time.Time
	// Chunks hold its spans in the order they were appended.
	Chunks []Chunk
	Runs   []Run
}

// Chunk is the spans of a trace one Append stored.
type Chunk struct {
	Time  time.Time
	Spans []spans.Span
}

// Run is the recorded progress of a run.
type Run struct {
	// Index is the run's position among its trace's runs.
	Index int
	// RunID is empty when its run/start may have been sent but its answer
	// was not recorded: AgentOS may hold a run the journal does not know.
	RunID string
	// Delivered is how many of its events AgentOS accepted.
	Delivered     int
	ExternalRunID string
}

// Open loads what store holds and returns the journal that goes on from it.
func Open(ctx context.Context, store Store, opts Options) (*Journal, *Recovered, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	j := &Journal{store: store, max: opts.MaxBytes, traces: map[spans.TraceID]*traceState{}, live: map[uint64]bool{}}
	j.cond = sync.NewCond(&j.mu)
	rec, err := j.load(ctx)
	if err != nil {
		return nil, nil, err
	}
	return j, rec, nil
}

// Record keys. Trace ids are raw bytes: keys are stored, so short.
const (
	keyHeader = "h"
	preIndex  = "i"
	preMeta   = "m"
	preChunk  = "s"
	preRun    = "r"
)

func indexKey(seq uint64) string { return string(binary.AppendUvarint([]byte(preIndex), seq)) }
func metaKey(id spans.TraceID) string {
	return preMeta + string(id[:])
}

func chunkKey(id spans.TraceID, n uint64) string {
	return string(binary.AppendUvarint(append([]byte(preChunk), id[:]...), n))
}

func runKey(id spans.TraceID, index int) string {
	return string(binary.AppendUvarint(append([]byte(preRun), id[:]...), uint64(index)))
}

func (j *Journal) get(ctx context.Context, key string) ([]byte, error) {
	b, err := j.store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStore, err)
	}
	return b, nil
}

// write queues ws and waits until they are stored. Called with j.mu held,
// after the state was changed: j.mu is released while waiting, and other
// callers' writes may join the same Write, in order after these.
func (j *Journal) write(ctx context.Context, ws []Write) error {
	if j.broken != nil {
		return j.broken
	}
	j.queue = append(j.queue, ws...)
	mine := j.queued
	for j.flushed <= mine {
		if j.flushing {
			j.cond.Wait()
			continue
		}
		batch := j.queue
		j.queue = nil
		j.queued++
		j.flushing = true
		j.mu.Unlock()
		err := j.store.Write(ctx, batch)
		j.mu.Lock()
		j.flushing = false
		j.flushed = j.queued
		if err != nil && j.broken == nil {
			j.broken = fmt.Errorf("%w: %w", ErrStore, err)
		}
		j.cond.Broadcast()
	}
	return j.broken
}

func (j *Journal) load(ctx context.Context) (*Recovered, error) {
	h, err := j.get(ctx, keyHeader)
	if err != nil {
		return nil, err
	}
	rec := &Recovered{}
	if h == nil {
		return rec, nil
	}
	d := &decoder{b: h}
	j.lo, j.hi = d.uvarint(), d.uvarint()
	if d.err != nil || j.lo > j.hi {
		return nil, fmt.Errorf("%w: header", ErrCorrupt)
	}
	for seq := j.lo; seq < j.hi; seq++ {
		b, err := j.get(ctx, indexKey(seq))
		if err != nil {
			return nil, err
		}
		if b == nil {
			continue
		}
		if len(b) != len(spans.TraceID{}) {
			return nil, fmt.Errorf("%w: index record %d", ErrCorrupt, seq)
		}
		tr, st, err := j.loadTrace(ctx, spans.TraceID(b))
		if err != nil {
			return nil, err
		}
		if st == nil || j.traces[tr.ID] != nil {
			continue // its meta record is gone: the trace was deleted
		}
		st.seq = seq
		j.traces[tr.ID] = st
		j.live[seq] = true
		j.bytes += st.size(tr.ID)
		rec.Traces = append(rec.Traces, tr)
	}
	return rec, nil
}

func (j *Journal) loadTrace(ctx context.Context, id spans.TraceID) (Trace, *traceState, error) {
	tr := Trace{ID: id}
	mk := metaKey(id)
	m, err := j.get(ctx, mk)
	if err != nil || m == nil {
		return tr, nil, err
	}
	st := &traceState{runs: map[int]*runRecord{}}
	d := &decoder{b: m}
	st.firstSeen = d.time()
	runs := d.count()
	indices := make([]int, runs)
	for i := range indices {
		indices[i] = int(d.uvarint())
	}
	if d.err != nil {
		return tr, nil, fmt.Errorf("%w: trace %s: %w", ErrCorrupt, id, d.err)
	}
	tr.FirstSeen = st.firstSeen
	for n := uint64(0); ; n++ {
		k := chunkKey(id, n)
		b, err := j.get(ctx, k)
		if err != nil {
			return tr, nil, err
		}
		if b == nil {
			break
		}
		st.chunks++
		st.chunkBytes += int64(len(k) + len(b))
		d := &decoder{b: b}
		at := d.time()
		if d.err != nil {
			return tr, nil, fmt.Errorf("%w: trace %s chunk %d", ErrCorrupt, id, n)
		}
		ss, err := decodeSpans(d.b, id)
		if err != nil {
			return tr, nil, fmt.Errorf("trace %s chunk %d: %w", id, n, err)
		}
		tr.Chunks = append(tr.Chunks, Chunk{Time: at, Spans: ss})
	}
	for _, index := range indices {
		k := runKey(id, index)
		b, err := j.get(ctx, k)
		if err != nil {
			return tr, nil, err
		}
		if b == nil {
			continue
		}
		d := &decoder{b: b}
		r := &runRecord{runID: d.string(), delivered: int(d.uvarint()), external: d.string()}
		if d.err != nil {
			return tr, nil, fmt.Errorf("%w: trace %s run %d", ErrCorrupt, id, index)
		}
		st.runs[index] = r
		tr.Runs = append(tr.Runs, Run{Index: index, RunID: r.runID, Delivered: r.delivered, ExternalRunID: r.external})
	}
	return tr, st, nil
}

// Bytes is the size of the records stored.
func (j *Journal) Bytes() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.bytes
}

// Open reports the traces stored.
func (j *Journal) Open() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.traces)
}

func (j *Journal) header() Write {
	b := binary.AppendUvarint(nil, j.lo)
	return Write{Key: keyHeader, Value: binary.AppendUvarint(b, j.hi)}
}

func (st *traceState) meta() []byte {
	b := appendTime(nil, st.firstSeen)
	b = binary.AppendUvarint(b, uint64(len(st.runs)))
	for _, index := range slices.Sorted(mapsKeys(st.runs)) {
		b = binary.AppendUvarint(b, uint64(index))
	}
	return b
}

// size is what the trace's records occupy.
func (st *traceState) size(id spans.TraceID) int64 {
	n := int64(len(metaKey(id))+len(st.meta())+len(indexKey(st.seq))+len(id)) + st.chunkBytes
	for index, r := range st.runs {
		n += int64(len(runKey(id, index)) + len(runValue(r)))
	}
	return n
}

func mapsKeys(m map[int]*runRecord) func(func(int) bool) {
	return func(yield func(int) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func size(ws []Write) int64 {
	var n int64
	for _, w := range ws {
		n += int64(len(w.Key) + len(w.Value))
	}
	return n
}

// Append stores a batch of spans, in one write: a chunk for each trace,
// and for a trace not stored yet its meta and index records. now is when
// the batch arrived. At the MaxBytes bound nothing is stored and the error
// matches ErrFull.
func (j *Journal) Append(ctx context.Context, now time.Time, batch []spans.Span) error {
	if len(batch) == 0 {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	// Group by trace, keeping the batch's order within each.
	var order []spans.TraceID
	groups := map[spans.TraceID][]int{}
	for i := range batch {
		id := batch[i].TraceID
		if _, ok := groups[id]; !ok {
			order = append(order, id)
		}
		groups[id] = append(groups[id], i)
	}
	ws := make([]Write, 0, len(order)+3)
	type added struct {
		id         spans.TraceID
		st         *traceState
		chunkBytes int64
		fresh      bool
	}
	adds := make([]added, 0, len(order))
	hi := j.hi
	for _, id := range order {
		st, fresh := j.traces[id], false
		if st == nil {
			st, fresh = &traceState{seq: hi, firstSeen: now, runs: map[int]*runRecord{}}, true
			hi++
			ws = append(ws, Write{Key: metaKey(id), Value: st.meta()},
				Write{Key: indexKey(st.seq), Value: append([]byte(nil), id[:]...)})
		}
		n := st.chunks
		if fresh {
			n = 0
		}
		b := appendTime(nil, now)
		b = encodeSpans(b, batch, groups[id])
		k := chunkKey(id, n)
		ws = append(ws, Write{Key: k, Value: b})
		adds = append(adds, added{id: id, st: st, chunkBytes: int64(len(k) + len(b)), fresh: fresh})
	}
	if hi != j.hi {
		old := j.hi
		j.hi = hi
		ws = append(ws, j.header())
		j.hi = old
	}
	total := size(ws)
	if j.broken != nil {
		return j.broken
	}
	if j.bytes > 0 && j.bytes+total > j.max {
		return fmt.Errorf("%w: %d MiB stored, limit %d MiB", ErrFull, j.bytes>>20, j.max>>20)
	}
	j.hi = hi
	for _, a := range adds {
		before := int64(0)
		if !a.fresh {
			before = a.st.size(a.id)
		}
		a.st.chunks++
		a.st.chunkBytes += a.chunkBytes
		j.bytes += a.st.size(a.id) - before
		if a.fresh {
			j.traces[a.id] = a.st
			j.live[a.st.seq] = true
		}
	}
	return j.write(ctx, ws)
}

// RunQueued notes that a run of trace id was handed to delivery: the
// trace's records stay until RunFinished is called for it.
func (j *Journal) RunQueued(id spans.TraceID) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if st := j.traces[id]; st != nil {
		st.pending++
	}
}

// RunStarting records, before its run/start is sent, that the run may
// exist in AgentOS from now on.
func (j *Journal) RunStarting(ctx context.Context, id spans.TraceID, index int, externalRunID string) error {
	return j.setRun(ctx, id, index, func(r *runRecord) { *r = runRecord{external: externalRunID} })
}

// RunStarted records the run id AgentOS gave the run.
func (j *Journal) RunStarted(ctx context.Context, id spans.TraceID, index int, runID string) error {
	return j.setRun(ctx, id, index, func(r *runRecord) { r.runID = runID })
}

// EventsDelivered records that n more of the run's events were accepted.
func (j *Journal) EventsDelivered(ctx context.Context, id spans.TraceID, index, n int) error {
	return j.setRun(ctx, id, index, func(r *runRecord) { r.delivered += n })
}

func (j *Journal) setRun(ctx context.Context, id spans.TraceID, index int, change func(*runRecord)) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := j.traces[id]
	if st == nil {
		return nil // not journaled: accepted before the journal, or deleted
	}
	before := st.size(id)
	old, existed := st.runs[index]
	next := runRecord{}
	if existed {
		next = *old
	}
	change(&next)
	st.runs[index] = &next
	ws := []Write{{Key: runKey(id, index), Value: runValue(&next)}}
	if !existed {
		// The meta record lists the runs to load.
		ws = append(ws, Write{Key: metaKey(id), Value: st.meta()})
	}
	j.bytes += st.size(id) - before
	return j.write(ctx, ws)
}

func runValue(r *runRecord) []byte {
	b := appendString(nil, r.runID)
	b = binary.AppendUvarint(b, uint64(r.delivered))
	return appendString(b, r.external)
}

// RunFinished notes that a run queued with RunQueued is done with: closed
// in AgentOS, or failed for good. With keep, it could not be delivered for
// now and its trace stays stored for the next start.
func (j *Journal) RunFinished(ctx context.Context, id spans.TraceID, keep bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := j.traces[id]
	if st == nil {
		return nil
	}
	st.pending--
	st.keep = st.keep || keep
	return j.maybeDelete(ctx, id, st)
}

// Retired notes that the tracker is done with trace id: once its runs have
// finished its records are deleted.
func (j *Journal) Retired(ctx context.Context, id spans.TraceID) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := j.traces[id]
	if st == nil {
		return nil
	}
	st.retired = true
	return j.maybeDelete(ctx, id, st)
}

func (j *Journal) maybeDelete(ctx context.Context, id spans.TraceID, st *traceState) error {
	if !st.retired || st.pending > 0 || st.keep {
		return nil
	}
	ws := make([]Write, 0, st.chunks+uint64(len(st.runs))+3)
	ws = append(ws, Write{Key: metaKey(id)}, Write{Key: indexKey(st.seq)})
	for n := range st.chunks {
		ws = append(ws, Write{Key: chunkKey(id, n)})
	}
	for index := range st.runs {
		ws = append(ws, Write{Key: runKey(id, index)})
	}
	lo := j.lo
	delete(j.live, st.seq)
	for lo < j.hi && !j.live[lo] {
		lo++
	}
	if lo != j.lo {
		old := j.lo
		j.lo = lo
		ws = append(ws, j.header())
		j.lo = old
	}
	j.lo = lo
	j.bytes -= st.size(id)
	delete(j.traces, id)
	return j.write(ctx, ws)
}
