package mapping

import (
	"bytes"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// Timeline collects a run's timeline events until they are sent. Their
// payloads are copied back to back into chunks that never move, and their
// occurred_at texts are made only when the events are taken, so an event
// costs no allocation of its own. The zero Timeline is empty and ready; it
// is not safe for concurrent use.
type Timeline struct {
	entries []entry
	// free is the unused tail of the current chunk; no event taken so far
	// shares its chunk, so writing into it races with no reader.
	free      []byte
	nextChunk int
	// staged lends free its staging buffer between Stage and Settle.
	staged *scratch
}

// entry is an event held by a Timeline: the keys that order it, and its
// payload. It is kept small, as a run holds one per pending event.
type entry struct {
	// sec and nsec are the event's wall-clock time (time.Time.Unix and
	// Nanosecond): the order is that of occurred_at, monotonic clock
	// readings play no part.
	sec     int64
	nsec    int32
	depth   int32
	index   int32
	phase   Phase
	level   level
	spanID  spans.SpanID
	typ     string
	payload []byte
}

// level is an event level as a byte, as only the valid ones are sent.
type level uint8

var levelNames = [...]string{agentosapi.LevelDebug, agentosapi.LevelInfo, agentosapi.LevelWarn, agentosapi.LevelError}

// levelOf maps a valid level to its byte; anything else is info.
func levelOf(name string) level {
	for i, n := range levelNames {
		if n == name {
			return level(i)
		}
	}
	return level(1)
}

func (l level) String() string { return levelNames[l] }

func newEntry(at time.Time, phase Phase, depth, index int, id spans.SpanID, typ, lvl string) entry {
	return entry{sec: at.Unix(), nsec: int32(at.Nanosecond()), phase: phase, depth: int32(depth), index: int32(index),
		spanID: id, typ: typ, level: levelOf(lvl)}
}

func (e *entry) at() time.Time { return time.Unix(e.sec, int64(e.nsec)) }

// firstEntries is the room a timeline makes for events at first: the
// events of a few spans.
const firstEntries = 8

// Chunk sizes: small for a run of a few spans, doubling for longer runs up
// to the largest size the allocator serves from its small-object caches:
// it keeps 8 bytes of its 32 KiB class back for a header, so a request of
// 32 KiB is a large object, allocated and zeroed from the heap under its
// lock (about 25 % slower to make).
const (
	firstChunk = 2 << 10
	maxChunk   = 32<<10 - 8
)

// Len reports how many events the timeline holds.
func (tl *Timeline) Len() int { return len(tl.entries) }

// Reserve makes room for about events more events with payloadBytes of
// payload in all, when the caller knows them ahead (a run's held spans
// resolving at once), so that the timeline grows once rather than by
// doubling.
func (tl *Timeline) Reserve(events, payloadBytes int) {
	if free := cap(tl.entries) - len(tl.entries); free < events {
		// A pooled size, so that the slice is recycled when taken.
		grown := getEntries(entryCapFor(len(tl.entries) + events))[:len(tl.entries)]
		copy(grown, tl.entries)
		putEntries(tl.entries)
		tl.entries = grown
	}
	if payloadBytes > cap(tl.free) {
		tl.nextChunk = max(tl.nextChunk, min(payloadBytes, maxChunk))
	}
}

// Stage has the payloads of the events added until Settle written into
// borrowed memory, then copied into one allocation of their size: for many
// events added at once (a run's held spans resolving), whose payload bytes
// a chunk sized ahead would overestimate or underestimate.
func (tl *Timeline) Stage() {
	if tl.staged != nil {
		return
	}
	tl.staged = getScratch()
	tl.free = tl.staged.staging[:0]
}

// Settle ends Stage: the payloads move out of the borrowed memory, which
// goes back. Take settles first.
func (tl *Timeline) Settle() {
	sc := tl.staged
	if sc == nil {
		return
	}
	tl.staged = nil
	if unsafe.SliceData(tl.free) != unsafe.SliceData(sc.staging) {
		tl.compact(sc.staging) // something was written: the staged payloads must leave
	} else {
		tl.free = nil
	}
	putScratch(sc)
}

// add records e with a copy of payload.
func (tl *Timeline) add(e entry, payload []byte) {
	e.payload = tl.store(payload)
	if len(tl.entries) == cap(tl.entries) {
		// Half again rather than double: an open run holds its spare room.
		grown := getEntries(max(firstEntries, len(tl.entries)+len(tl.entries)/2))[:len(tl.entries)]
		copy(grown, tl.entries)
		putEntries(tl.entries)
		tl.entries = grown
	}
	tl.entries = append(tl.entries, e)
}

// Entry slices grown one event at a time have the capacities
// firstEntries, then half again each time (8, 12, 18, 27, …): slices of
// these sizes past the first are recycled, each size in a pool of its own,
// so that a run's timeline grows without allocating once earlier runs
// have given theirs back (a run of 50 spans otherwise allocates about
// 28 KB of entries as it grows).
var (
	entryCaps  [16]int
	entryPools [len(entryCaps)]sync.Pool // of *entry, the first of entryCaps[i]
)

func init() {
	n := firstEntries
	for i := range entryCaps {
		entryCaps[i] = n
		n += n / 2
	}
}

// entryClass is the index in entryCaps of n, or -1.
func entryClass(n int) int {
	for i := 1; i < len(entryCaps); i++ { // the first size is not pooled
		if entryCaps[i] >= n {
			if entryCaps[i] == n {
				return i
			}
			return -1
		}
	}
	return -1
}

// entryCapFor is the smallest pooled size that holds n entries, or n past
// the largest.
func entryCapFor(n int) int {
	for _, c := range entryCaps[1:] {
		if c >= n {
			return c
		}
	}
	return n
}

// getEntries returns an empty slice of capacity n, recycled when n is a
// pooled size.
func getEntries(n int) []entry {
	if c := entryClass(n); c >= 0 {
		if p, ok := entryPools[c].Get().(*entry); ok {
			return unsafe.Slice(p, n)[:0]
		}
	}
	return make([]entry, 0, n)
}

// putEntries recycles es, which nothing else refers to, when its capacity
// is a pooled size, and reports whether it did.
func putEntries(es []entry) bool {
	c := entryClass(cap(es))
	if c < 0 {
		return false
	}
	clear(es)
	entryPools[c].Put(&es[:1][0])
	return true
}

// store copies p into the current chunk, starting a new one when it does
// not fit; a payload larger than a chunk gets an allocation of its own.
func (tl *Timeline) store(p []byte) []byte {
	if len(p) > cap(tl.free) {
		size := max(tl.nextChunk, firstChunk)
		if len(p) > size {
			// A payload larger than a chunk gets its own, copied without
			// being zeroed first (append does not clear what it copies
			// over; make does).
			own := append([]byte(nil), p...)
			return own[:len(p):len(p)]
		}
		tl.free = make([]byte, 0, size)
		tl.nextChunk = min(2*size, maxChunk)
	}
	out := append(tl.free, p...)
	tl.free = out[len(p):len(p)]
	return out[:len(p):len(p)]
}

// compact moves the payloads written into staging, borrowed memory that
// must not leave, into one allocation of their size; payloads that did not
// fit there already have memory of their own and stay where they are.
func (tl *Timeline) compact(staging []byte) {
	n := 0
	for i := range tl.entries {
		if p := tl.entries[i].payload; within(p, staging) {
			n += len(p)
		}
	}
	all := make([]byte, 0, n)
	for i := range tl.entries {
		e := &tl.entries[i]
		if !within(e.payload, staging) {
			continue
		}
		start := len(all)
		all = append(all, e.payload...)
		e.payload = all[start:len(all):len(all)]
	}
	tl.free, tl.nextChunk = nil, 0
}

// within reports whether p lies in buf's memory (up to its capacity).
func within(p, buf []byte) bool {
	if len(p) == 0 || cap(buf) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	at := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	return at >= lo && at < lo+uintptr(cap(buf))
}

// compare is the timeline order (docs/mapping.md, "Order"): occurred_at,
// then start < span events < end, then parent < child; span id and index
// make it total.
func compare(a, b *entry) int {
	switch {
	case a.sec != b.sec:
		return cmpInt(a.sec, b.sec)
	case a.nsec != b.nsec:
		return cmpInt(a.nsec, b.nsec)
	case a.phase != b.phase:
		return cmpInt(a.phase, b.phase)
	case a.depth != b.depth:
		return cmpInt(a.depth, b.depth)
	}
	if c := bytes.Compare(a.spanID[:], b.spanID[:]); c != 0 {
		return c
	}
	return cmpInt(a.index, b.index)
}

func cmpInt[T int64 | int32 | Phase](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Take returns the events in timeline order and empties the timeline. The
// events share payload chunks, which the timeline gives up, and one string
// for their occurred_at texts: nothing they hold is written again.
func (tl *Timeline) Take() []agentosapi.Event {
	tl.Settle()
	if len(tl.entries) == 0 {
		return nil
	}
	tl.sortEntries()
	out := make([]agentosapi.Event, len(tl.entries))
	times, pos := tl.renderTimes(), 0
	for i := range tl.entries {
		e := &tl.entries[i]
		n := timeLen(e)
		out[i] = agentosapi.Event{Type: e.typ, Level: e.level.String(), Payload: e.payload, OccurredAt: times[pos : pos+n]}
		pos += n
	}
	if putEntries(tl.entries) {
		tl.entries = nil
	}
	tl.reset()
	return out
}

// appendTo appends the events, in the order they were added, as Events
// sharing payload chunks, which the timeline gives up.
func (tl *Timeline) appendTo(dst []Event) []Event {
	times, pos := tl.renderTimes(), 0
	for i := range tl.entries {
		e := &tl.entries[i]
		n := timeLen(e)
		dst = append(dst, Event{At: e.at(), Phase: e.phase, Depth: int(e.depth), SpanID: e.spanID, Index: int(e.index),
			Wire: agentosapi.Event{Type: e.typ, Level: e.level.String(), Payload: e.payload, OccurredAt: times[pos : pos+n]}})
		pos += n
	}
	tl.reset()
	return dst
}

// reset empties the timeline after its events were taken: the chunk they
// share is given up with them, and a grown entry slice too, so that an
// idle open run stays small.
func (tl *Timeline) reset() {
	if cap(tl.entries) > firstEntries {
		tl.entries = nil
	} else {
		clear(tl.entries)
		tl.entries = tl.entries[:0]
	}
	tl.free, tl.nextChunk = nil, 0
}

// renderTimes writes the entries' occurred_at texts, back to back, into
// one string. Events of a run mostly share their second, whose text is
// then copied rather than rendered again.
func (tl *Timeline) renderTimes() string {
	var sb strings.Builder
	sb.Grow(len(tl.entries) * len(timeUTCExample))
	var text [64]byte
	lastSec, last := int64(0), []byte(nil)
	const secondLen = len("2006-01-02T15:04:05.")
	for i := range tl.entries {
		e := &tl.entries[i]
		if last != nil && e.sec == lastSec && len(last) == len(timeUTCExample) {
			last = appendDigits(last[:secondLen], int(e.nsec), 9)
			last = append(last, 'Z')
		} else {
			last, lastSec = appendTime(text[:0], e.at()), e.sec
		}
		sb.Write(last)
	}
	return sb.String()
}

// sortEntries puts the entries in timeline order. Spans that ran one
// after another added them in that order already, so one pass checks it
// before anything is sorted (the order is total: any sort gives the same).
func (tl *Timeline) sortEntries() {
	es := tl.entries
	for i := 1; i < len(es); i++ {
		if compare(&es[i-1], &es[i]) > 0 {
			sort.Sort((*timelineOrder)(tl))
			return
		}
	}
}

// timelineOrder sorts a timeline's entries in timeline order, comparing
// them in place; as a pointer it sorts without an allocation.
type timelineOrder Timeline

func (o *timelineOrder) Len() int           { return len(o.entries) }
func (o *timelineOrder) Less(i, j int) bool { return compare(&o.entries[i], &o.entries[j]) < 0 }
func (o *timelineOrder) Swap(i, j int)      { o.entries[i], o.entries[j] = o.entries[j], o.entries[i] }

// Unix times of the first and last second whose year has four digits, the
// years appendTime renders as long as timeUTCExample.
const (
	firstYear4Sec = -62167219200 // 0000-01-01T00:00:00Z
	lastYear4Sec  = 253402300799 // 9999-12-31T23:59:59Z
)

// timeLen is the length of the entry's occurred_at text.
func timeLen(e *entry) int {
	if e.sec >= firstYear4Sec && e.sec <= lastYear4Sec {
		return len(timeUTCExample)
	}
	return len(appendTime(nil, e.at()))
}
