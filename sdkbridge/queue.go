package sdkbridge

import (
	"time"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

type itemKind uint8

const (
	itemStart itemKind = iota
	itemEnd
	itemBarrier
)

// liveItem is a queued span start, span end or ForceFlush barrier. A start
// holds copies taken at OnStart: the SDK's attribute slice is shared
// copy-on-write, so later SetAttributes calls do not show through. A start
// whose end was queued next, before the worker took it, holds that end too
// (ended set, size the two's), and the end is converted from it: so do
// most leaf spans, which start and end no other span meanwhile.
type liveItem struct {
	kind     itemKind
	root     bool
	traceID  spans.TraceID
	spanID   spans.SpanID
	parentID spans.SpanID
	remote   bool
	name     string
	start    time.Time
	attrs    []attribute.KeyValue
	res      *resource.Resource
	ended    sdktrace.ReadOnlySpan
	flushed  chan struct{}
	size     int64 // estimated bytes the item keeps alive
}

// chunk is a piece of the queue: appending never copies what is queued,
// and chunks are reused, so a burst costs no more than its own size.
type chunk struct {
	items [chunkSize]liveItem
	n     int
	next  *chunk
}

const chunkSize = 128

// maxFreeChunks bounds the emptied chunks kept for reuse.
const maxFreeChunks = 64

// liveQueue is the live processor's queue: chunks oldest first, with the
// count and the estimated bytes of what they hold. Its owner serialises
// access.
type liveQueue struct {
	head, tail *chunk
	items      int
	bytes      int64
	free       *chunk // emptied chunks, reused
	nfree      int
}

// endLast records end, a span's end, in the item queued last when that is
// the same span's start, and reports whether it did. The end counts as an
// item and its bytes as it would on its own.
func (q *liveQueue) endLast(end *liveItem) bool {
	if q.tail == nil || q.tail.n == 0 {
		return false
	}
	last := &q.tail.items[q.tail.n-1]
	if last.kind != itemStart || last.ended != nil || last.spanID != end.spanID || last.traceID != end.traceID {
		return false
	}
	last.ended = end.ended
	last.size += end.size
	q.items++
	q.bytes += end.size
	return true
}

func (q *liveQueue) push(it *liveItem) {
	if q.tail == nil || q.tail.n == chunkSize {
		c := q.free
		if c != nil {
			q.free, c.next = c.next, nil
			q.nfree--
		} else {
			c = new(chunk)
		}
		if q.tail == nil {
			q.head = c
		} else {
			q.tail.next = c
		}
		q.tail = c
	}
	q.tail.items[q.tail.n] = *it
	q.tail.n++
	q.items++
	q.bytes += it.size
}

// take empties the list and returns its chunks. Their bytes stay counted
// in q.bytes until the taker releases them: they are still in memory.
func (q *liveQueue) take() (head *chunk, items int) {
	head, items = q.head, q.items
	q.head, q.tail, q.items = nil, nil, 0
	return head, items
}

// reuse keeps an emptied chunk for later pushes, up to maxFreeChunks.
func (q *liveQueue) reuse(c *chunk) {
	if q.nfree < maxFreeChunks {
		c.next = q.free
		q.free = c
		q.nfree++
	}
}

// Estimates of what a queued item keeps alive, for MaxBufferedBytes. They
// count the item, the span's strings and the slices holding its
// attributes, events and links; the resource, shared by every span, is not
// counted. They run on the instrumented program's goroutine, so they only
// read lengths: no copy, no allocation but for attribute values that are
// slices or maps, which the SDK can only hand out as copies.
var (
	itemSize  = int64(unsafe.Sizeof(liveItem{}))
	kvSize    = int64(unsafe.Sizeof(attribute.KeyValue{}))
	valueSize = int64(unsafe.Sizeof(attribute.Value{}))
	eventSize = int64(unsafe.Sizeof(sdktrace.Event{}))
	linkSize  = int64(unsafe.Sizeof(sdktrace.Link{}))
)

// snapshotSize stands for the SDK's copy of an ended span, whose type is
// not exported: about the size of its fields, rounded up.
const snapshotSize = 512

func startSize(it *liveItem) int64 {
	return itemSize + int64(len(it.name)) + kvsSize(it.attrs)
}

// endSize leaves out the name and the status message, short as a rule,
// which snapshotSize's rounding covers: each method of the SDK's snapshot
// copies the whole of it.
func endSize(s sdktrace.ReadOnlySpan) int64 {
	n := itemSize + snapshotSize + kvsSize(s.Attributes())
	for _, e := range s.Events() {
		n += eventSize + int64(len(e.Name)) + kvsSize(e.Attributes)
	}
	for _, l := range s.Links() {
		n += linkSize + kvsSize(l.Attributes)
	}
	return n
}

func kvsSize(kvs []attribute.KeyValue) int64 {
	n := int64(len(kvs)) * kvSize
	for i := range kvs {
		kv := &kvs[i]
		n += int64(len(kv.Key))
		switch t := kv.Value.Type(); {
		case t == attribute.STRING:
			n += int64(len(kv.Value.AsString()))
		case t > attribute.STRING:
			n += valueExtra(kv.Value)
		}
	}
	return n
}

// valueExtra is what a value holds beyond its own struct.
func valueExtra(v attribute.Value) int64 {
	switch v.Type() {
	case attribute.STRING:
		return int64(len(v.AsString()))
	case attribute.STRINGSLICE:
		ss := v.AsStringSlice()
		n := int64(len(ss)) * int64(unsafe.Sizeof(""))
		for _, s := range ss {
			n += int64(len(s))
		}
		return n
	case attribute.BYTESLICE:
		return int64(len(v.AsByteSlice()))
	case attribute.BOOLSLICE:
		return int64(len(v.AsBoolSlice()))
	case attribute.INT64SLICE:
		return 8 * int64(len(v.AsInt64Slice()))
	case attribute.FLOAT64SLICE:
		return 8 * int64(len(v.AsFloat64Slice()))
	case attribute.SLICE:
		vs := v.AsSlice()
		n := int64(len(vs)) * valueSize
		for _, e := range vs {
			n += valueExtra(e)
		}
		return n
	case attribute.MAP:
		return kvsSize(v.AsMap())
	}
	return 0
}
