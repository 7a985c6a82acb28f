package journal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"runtime"
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

// Journal is safe for concurrent use. Writes that touch the same record
// are applied in the order their calls changed the journal's state. Once
// a write fails the journal is broken: every later call returns ErrStore.
type Journal struct {
	store Store
	max   int64

	mu     sync.Mutex
	traces map[spans.TraceID]*traceState
	bytes  int64
	// lo and hi bound the sequence numbers of the traces: every open trace
	// has one in [lo, hi). live holds those still in use.
	lo, hi uint64
	live   map[uint64]bool
	// ticked is the time of the owner's last tick, stored with each chunk
	// (see Chunk.AfterTick).
	ticked time.Time

	// Group commit: writes queue up in a lane while its Write is in flight
	// and go together in the next, so concurrent callers share
	// transactions. Spans and deletions go in bulk, runs' progress (start
	// intents, events counts) in fast, which does not wait for bulk, and
	// run ids in ids, which goes before both. Two lanes never hold writes
	// to the same record at once: a trace is created (bulk) before its
	// runs exist and deleted once they are done, and a run's own records
	// are written one at a time.
	cond   *sync.Cond
	fast   lane
	ids    lane
	bulk   lane
	broken error // sticky: once a write failed, what is stored is not known
}

// lane is a queue of writes; a caller's writes are stored once flushed
// passes the number of the batch they were queued in.
type lane struct {
	queue    []Write
	queued   uint64 // number of the batch being queued
	flushed  uint64 // batches written
	flushing bool
	// linger: before taking its batch, a Write lets the goroutines ready
	// to run queue theirs.
	linger bool
}

type traceState struct {
	id        spans.TraceID
	seq       uint64 // its place in arrival order, in its records' keys
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
	// sent: a run/start may have reached AgentOS (an attempt began and did
	// not provably fail without effect).
	sent bool
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
	Time time.Time
	// AfterTick is the time of the last tick before the chunk (Ticked),
	// zero if none: a replay ticks there before adding the chunk, so that
	// the runs take the same shape as before the crash.
	AfterTick time.Time
	// Logs marks a chunk of log records (AppendLogs): each of Spans is a
	// carrier, whose Events are the records for the span of its SpanID.
	Logs  bool
	Spans []spans.Span
}

// Run is the recorded progress of a run.
type Run struct {
	// Index is the run's position among its trace's runs.
	Index int
	// RunID is empty when the run's id was not recorded.
	RunID string
	// MayExist, for a run without RunID, means a run/start may have
	// reached AgentOS without its answer being recorded: AgentOS may hold
	// a run the journal does not know.
	MayExist bool
	// Delivered is how many of its events AgentOS accepted.
	Delivered     int
	ExternalRunID string
}

// Open loads what store holds and returns the journal that goes on from it.
func Open(ctx context.Context, store Store, opts Options) (*Journal, *Recovered, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	j := &Journal{store: store, max: opts.MaxBytes, traces: map[spans.TraceID]*traceState{}, live: map[uint64]bool{},
		fast: lane{linger: true}}
	j.cond = sync.NewCond(&j.mu)
	rec, err := j.load(ctx)
	if err != nil {
		return nil, nil, err
	}
	return j, rec, nil
}

// Record keys. A trace's records share the prefix "t" and its sequence
// number in big-endian, so they sit together and traces in arrival order:
// in a B-tree store (file_storage is bbolt) a batch's records land in a few
// adjacent pages instead of one page per trace.
const (
	keyHeader = "H"
	// keyOldHeader is the header of the first layout, keyed by trace id.
	keyOldHeader = "h"
	preTrace     = "t"
	sufChunk     = 'c'
	sufRun       = 'r'
)

// headerVersion tells this layout from an older one.
const headerVersion = 2

func traceKey(seq uint64) string {
	var b [1 + 8]byte
	b[0] = preTrace[0]
	binary.BigEndian.PutUint64(b[1:], seq)
	return string(b[:])
}

func recordKey(seq uint64, kind byte, n uint64) string {
	var b [1 + 8 + 1 + binary.MaxVarintLen64]byte
	b[0] = preTrace[0]
	binary.BigEndian.PutUint64(b[1:], seq)
	b[9] = kind
	return string(binary.AppendUvarint(b[:10], n))
}

func chunkKey(seq, n uint64) string       { return recordKey(seq, sufChunk, n) }
func runKey(seq uint64, index int) string { return recordKey(seq, sufRun, uint64(index)) }

func (j *Journal) get(ctx context.Context, key string) ([]byte, error) {
	b, err := j.store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStore, err)
	}
	return b, nil
}

// write queues ws in l and waits until they are stored. Called with j.mu
// held, after the state was changed: j.mu is released while waiting, and
// other callers' writes may join the same Write, in order after these.
func (j *Journal) write(ctx context.Context, l *lane, ws []Write) error {
	if j.broken != nil {
		return j.broken
	}
	l.queue = append(l.queue, ws...)
	mine := l.queued
	for l.flushed <= mine && j.broken == nil {
		if l.flushing {
			j.cond.Wait()
			continue
		}
		j.flush(ctx, l)
	}
	return j.broken
}

// flush writes l's queue. Called with j.mu held and no Write of l in
// flight.
func (j *Journal) flush(ctx context.Context, l *lane) {
	l.flushing = true
	if l.linger {
		// Progress records come from many runs at once, and a transaction
		// costs about the same for one record as for dozens.
		j.mu.Unlock()
		runtime.Gosched()
		j.mu.Lock()
	}
	// Run ids go first: a store writes one transaction at a time, and
	// every moment an id waits is one in which a crash leaves its run open.
	for l != &j.ids && j.broken == nil && (j.ids.flushing || len(j.ids.queue) > 0) {
		j.cond.Wait()
	}
	batch := l.queue
	l.queue = nil
	l.queued++
	if len(batch) > 0 && j.broken == nil {
		j.mu.Unlock()
		err := j.store.Write(ctx, batch)
		j.mu.Lock()
		if err != nil && j.broken == nil {
			j.broken = fmt.Errorf("%w: %w", ErrStore, err)
		}
	}
	l.flushing = false
	l.flushed = l.queued
	j.cond.Broadcast()
}

// Sync stores the writes queued without waiting (the deletion of finished
// traces).
func (j *Journal) Sync(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.bulk.queue) == 0 {
		return j.broken
	}
	return j.write(ctx, &j.bulk, nil)
}

func (j *Journal) load(ctx context.Context) (*Recovered, error) {
	h, err := j.get(ctx, keyHeader)
	if err != nil {
		return nil, err
	}
	rec := &Recovered{}
	if h == nil {
		old, err := j.get(ctx, keyOldHeader)
		if err != nil {
			return nil, err
		}
		if old != nil {
			return nil, fmt.Errorf("%w: stored by an earlier version of the exporter, in a layout this one does not read", ErrCorrupt)
		}
		return rec, nil
	}
	d := &decoder{b: h}
	if v := d.byte(); d.err == nil && v != headerVersion {
		return nil, fmt.Errorf("%w: header version %d, want %d", ErrCorrupt, v, headerVersion)
	}
	j.lo, j.hi = d.uvarint(), d.uvarint()
	if d.err != nil || j.lo > j.hi {
		return nil, fmt.Errorf("%w: header", ErrCorrupt)
	}
	for seq := j.lo; seq < j.hi; seq++ {
		tr, st, err := j.loadTrace(ctx, seq)
		if err != nil {
			return nil, err
		}
		if st == nil {
			continue // deleted
		}
		if j.traces[tr.ID] != nil {
			// A finished trace whose deletion a crash lost, and late spans
			// of the same trace stored after it: keep the first.
			j.bulk.queue = append(j.bulk.queue, st.deletes()...)
			continue
		}
		j.traces[tr.ID] = st
		j.live[seq] = true
		j.bytes += st.size()
		rec.Traces = append(rec.Traces, tr)
	}
	return rec, nil
}

func (j *Journal) loadTrace(ctx context.Context, seq uint64) (Trace, *traceState, error) {
	var tr Trace
	m, err := j.get(ctx, traceKey(seq))
	if err != nil || m == nil {
		return tr, nil, err
	}
	st := &traceState{seq: seq, runs: map[int]*runRecord{}}
	d := &decoder{b: m}
	copy(st.id[:], d.bytes(len(st.id)))
	st.firstSeen = d.time()
	runs := d.count()
	indices := make([]int, runs)
	for i := range indices {
		indices[i] = int(d.uvarint())
	}
	if d.err != nil {
		return tr, nil, fmt.Errorf("%w: trace record %d: %w", ErrCorrupt, seq, d.err)
	}
	id := st.id
	tr.ID, tr.FirstSeen = id, st.firstSeen
	for n := uint64(0); ; n++ {
		k := chunkKey(seq, n)
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
		var ticked time.Time
		if len(d.b) > 0 && d.b[0] == tagTicked {
			d.b = d.b[1:]
			ticked = d.time()
		}
		logs := len(d.b) > 0 && d.b[0] == tagLogs
		if logs {
			d.b = d.b[1:]
		}
		if d.err != nil {
			return tr, nil, fmt.Errorf("%w: trace %s chunk %d", ErrCorrupt, id, n)
		}
		ss, err := decodeSpans(d.b, id)
		if err != nil {
			return tr, nil, fmt.Errorf("trace %s chunk %d: %w", id, n, err)
		}
		tr.Chunks = append(tr.Chunks, Chunk{Time: at, AfterTick: ticked, Logs: logs, Spans: ss})
	}
	for _, index := range indices {
		b, err := j.get(ctx, runKey(seq, index))
		if err != nil {
			return tr, nil, err
		}
		if b == nil {
			continue
		}
		d := &decoder{b: b}
		r := &runRecord{runID: d.string(), delivered: int(d.uvarint()), external: d.string(), sent: d.byte() == 1}
		if d.err != nil {
			return tr, nil, fmt.Errorf("%w: trace %s run %d", ErrCorrupt, id, index)
		}
		st.runs[index] = r
		tr.Runs = append(tr.Runs, Run{Index: index, RunID: r.runID, MayExist: r.runID == "" && r.sent,
			Delivered: r.delivered, ExternalRunID: r.external})
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

func (j *Journal) header(lo, hi uint64) Write {
	b := binary.AppendUvarint([]byte{headerVersion}, lo)
	return Write{Key: keyHeader, Value: binary.AppendUvarint(b, hi)}
}

// record is the trace's own record: its id, when it was first seen and the
// runs that have records.
func (st *traceState) record() []byte {
	b := make([]byte, 0, len(st.id)+binary.MaxVarintLen64+1+2*len(st.runs))
	b = append(b, st.id[:]...)
	b = appendTime(b, st.firstSeen)
	b = binary.AppendUvarint(b, uint64(len(st.runs)))
	for _, index := range slices.Sorted(maps.Keys(st.runs)) {
		b = binary.AppendUvarint(b, uint64(index))
	}
	return b
}

// size is what the trace's records occupy.
func (st *traceState) size() int64 {
	n := int64(len(traceKey(st.seq))+len(st.record())) + st.chunkBytes
	for index, r := range st.runs {
		n += int64(len(runKey(st.seq, index)) + len(runValue(r)))
	}
	return n
}

func size(ws []Write) int64 {
	var n int64
	for _, w := range ws {
		n += int64(len(w.Key) + len(w.Value))
	}
	return n
}

// Append stores a batch of spans, in one write: a chunk for each trace,
// and for a trace not stored yet its own record. now is when the batch
// arrived. At the MaxBytes bound nothing is stored and the error matches
// ErrFull.
func (j *Journal) Append(ctx context.Context, now time.Time, batch []spans.Span) error {
	return j.append(ctx, now, batch, false)
}

// AppendLogs stores log records that wait for their spans, or join them,
// as a chunk of their trace (Chunk.Logs): carriers holds, per span, its
// records as Events. Replayed in order with the spans, they join the same
// spans again.
func (j *Journal) AppendLogs(ctx context.Context, now time.Time, carriers []spans.Span) error {
	return j.append(ctx, now, carriers, true)
}

func (j *Journal) append(ctx context.Context, now time.Time, batch []spans.Span, logs bool) error {
	if len(batch) == 0 {
		return nil
	}
	// Group by trace, keeping the batch's order within each. Batches hold
	// few traces, mostly in runs of spans: a linear search suffices.
	type group struct {
		id   spans.TraceID
		pick []int
	}
	var groups []group
	last := -1
	for i := range batch {
		id := batch[i].TraceID
		if last < 0 || groups[last].id != id {
			last = slices.IndexFunc(groups, func(g group) bool { return g.id == id })
			if last < 0 {
				groups = append(groups, group{id: id})
				last = len(groups) - 1
			}
		}
		groups[last].pick = append(groups[last].pick, i)
	}
	j.mu.Lock()
	ticked := j.ticked
	j.mu.Unlock()
	// Every chunk is encoded into one buffer, sliced once it stops growing.
	buf := make([]byte, 0, encodedSizeHint(batch))
	ends := make([]int, len(groups))
	for i, g := range groups {
		buf = appendTime(buf, now)
		if !ticked.IsZero() {
			buf = append(buf, tagTicked)
			buf = appendTime(buf, ticked)
		}
		if logs {
			buf = append(buf, tagLogs)
		}
		buf = encodeSpans(buf, batch, g.pick)
		ends[i] = len(buf)
	}

	j.mu.Lock()
	defer j.mu.Unlock()
	if j.broken != nil {
		return j.broken
	}
	ws := make([]Write, 0, 2*len(groups)+1)
	type added struct {
		st         *traceState
		chunkBytes int64
		fresh      bool
	}
	adds := make([]added, len(groups))
	hi := j.hi
	startAt := 0
	for i, g := range groups {
		st, fresh := j.traces[g.id], false
		if st == nil {
			st, fresh = &traceState{id: g.id, seq: hi, firstSeen: now, runs: map[int]*runRecord{}}, true
			hi++
			ws = append(ws, Write{Key: traceKey(st.seq), Value: st.record()})
		}
		n := st.chunks
		if fresh {
			n = 0
		}
		v := buf[startAt:ends[i]:ends[i]]
		startAt = ends[i]
		k := chunkKey(st.seq, n)
		ws = append(ws, Write{Key: k, Value: v})
		adds[i] = added{st: st, chunkBytes: int64(len(k) + len(v)), fresh: fresh}
	}
	if hi != j.hi {
		ws = append(ws, j.header(j.lo, hi))
	}
	total := size(ws)
	if j.bytes > 0 && j.bytes+total > j.max {
		return fmt.Errorf("%w: %d MiB stored, limit %d MiB", ErrFull, j.bytes>>20, j.max>>20)
	}
	j.hi = hi
	for _, a := range adds {
		if a.fresh {
			j.traces[a.st.id] = a.st
			j.live[a.st.seq] = true
			j.bytes += int64(len(traceKey(a.st.seq)) + len(a.st.record()))
		}
		a.st.chunks++
		a.st.chunkBytes += a.chunkBytes
		j.bytes += a.chunkBytes
	}
	return j.write(ctx, &j.bulk, ws)
}

// Tags after a chunk's time: a tick time follows; the chunk holds log
// records. Neither is a codec version, which comes next otherwise.
const (
	tagTicked = 0xfe
	tagLogs   = 0xfd
)

// Ticked records that the owner ticked its run tracker at t: the chunks
// appended from now on are replayed after a tick at t.
func (j *Journal) Ticked(t time.Time) {
	j.mu.Lock()
	j.ticked = t
	j.mu.Unlock()
}

// encodedSizeHint guesses the size of a batch's chunks, so that their
// buffer rarely grows.
func encodedSizeHint(batch []spans.Span) int {
	n := 64
	for i := range batch {
		s := &batch[i]
		n += 64 + len(s.Name) + len(s.StatusMessage) + 48*len(s.Attrs) + 64*len(s.Events)
	}
	return n
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

// RunStarting records, before an attempt of its run/start is sent, that
// the run may exist in AgentOS from now on. It writes nothing when that is
// already recorded.
func (j *Journal) RunStarting(ctx context.Context, id spans.TraceID, index int, externalRunID string) error {
	return j.setRun(ctx, id, index, func(r *runRecord) bool {
		if r.sent && r.external == externalRunID {
			return false
		}
		r.sent, r.external = true, externalRunID
		return true
	})
}

// RunUnsent records that no attempt of the run's run/start took effect so
// far (each failed provably without effect, as a 503 does): the run does
// not exist in AgentOS.
func (j *Journal) RunUnsent(ctx context.Context, id spans.TraceID, index int) error {
	return j.setRun(ctx, id, index, func(r *runRecord) bool {
		if !r.sent || r.runID != "" {
			return false
		}
		r.sent = false
		return true
	})
}

// RunStarted records the run id AgentOS gave the run. Ids have a lane of
// their own, which does not linger: until its id is stored, a crash leaves
// the run open in AgentOS for good, since the next start cannot find it.
func (j *Journal) RunStarted(ctx context.Context, id spans.TraceID, index int, runID string) error {
	return j.setRunIn(ctx, &j.ids, id, index, func(r *runRecord) bool { r.runID = runID; return true })
}

// EventsDelivered records that n more of the run's events were accepted.
func (j *Journal) EventsDelivered(ctx context.Context, id spans.TraceID, index, n int) error {
	return j.setRun(ctx, id, index, func(r *runRecord) bool { r.delivered += n; return true })
}

// setRun changes a run's record and waits until it is stored, in the fast
// lane. change reports whether it changed anything.
func (j *Journal) setRun(ctx context.Context, id spans.TraceID, index int, change func(*runRecord) bool) error {
	return j.setRunIn(ctx, &j.fast, id, index, change)
}

// setRunIn is setRun in lane l. A record that does not exist yet goes in
// the fast lane, which orders the rewrites of its trace's record.
func (j *Journal) setRunIn(ctx context.Context, l *lane, id spans.TraceID, index int, change func(*runRecord) bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := j.traces[id]
	if st == nil {
		return j.broken // not journaled: accepted before the journal, or deleted
	}
	old, existed := st.runs[index]
	next := runRecord{}
	if existed {
		next = *old
	}
	if !change(&next) {
		return j.broken
	}
	k := runKey(st.seq, index)
	v := runValue(&next)
	ws := []Write{{Key: k, Value: v}}
	if existed {
		j.bytes -= int64(len(k) + len(runValue(old)))
	} else {
		// The trace's record lists the runs to load.
		j.bytes -= int64(len(st.record()))
	}
	st.runs[index] = &next
	j.bytes += int64(len(k) + len(v))
	if !existed {
		rec := st.record()
		j.bytes += int64(len(rec))
		ws = append(ws, Write{Key: traceKey(st.seq), Value: rec})
		l = &j.fast
	}
	return j.write(ctx, l, ws)
}

// deletes are the writes that delete the trace's records.
func (st *traceState) deletes() []Write {
	ws := make([]Write, 0, 1+int(st.chunks)+len(st.runs))
	ws = append(ws, Write{Key: traceKey(st.seq)})
	for n := range st.chunks {
		ws = append(ws, Write{Key: chunkKey(st.seq, n)})
	}
	for index := range st.runs {
		ws = append(ws, Write{Key: runKey(st.seq, index)})
	}
	return ws
}

func runValue(r *runRecord) []byte {
	b := make([]byte, 0, len(r.runID)+len(r.external)+2*binary.MaxVarintLen64+1)
	b = appendString(b, r.runID)
	b = binary.AppendUvarint(b, uint64(r.delivered))
	b = appendString(b, r.external)
	if r.sent {
		return append(b, 1)
	}
	return append(b, 0)
}

// RunFinished notes that a run queued with RunQueued is done with: closed
// in AgentOS, or failed for good. With keep, it could not be delivered for
// now and its trace stays stored for the next start.
//
// Deleting a finished trace does not wait: the deletion goes with the next
// write (or Sync). A crash before it only makes the next start close the
// trace's runs again, which AgentOS answers "already closed".
func (j *Journal) RunFinished(id spans.TraceID, keep bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := j.traces[id]
	if st == nil {
		return j.broken
	}
	st.pending--
	st.keep = st.keep || keep
	j.maybeDelete(st)
	return j.broken
}

// Retired notes that the tracker is done with trace id: once its runs have
// finished its records are deleted, as RunFinished says.
func (j *Journal) Retired(id spans.TraceID) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := j.traces[id]
	if st == nil {
		return j.broken
	}
	st.retired = true
	j.maybeDelete(st)
	return j.broken
}

// maybeDelete queues the deletion of a trace that is done with, without
// waiting for it.
func (j *Journal) maybeDelete(st *traceState) {
	if !st.retired || st.pending > 0 || st.keep || j.broken != nil {
		return
	}
	ws := append(j.bulk.queue, st.deletes()...)
	lo := j.lo
	delete(j.live, st.seq)
	for lo < j.hi && !j.live[lo] {
		lo++
	}
	if lo != j.lo {
		ws = append(ws, j.header(lo, j.hi))
		j.lo = lo
	}
	j.bulk.queue = ws
	j.bytes -= st.size()
	delete(j.traces, st.id)
}
