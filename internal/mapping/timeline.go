package mapping

import (
	"bytes"
	"slices"
	"strings"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// Timeline collects a run's timeline events until they are sent. Their
// payloads are copied back to back into chunks that never move, and their
// occurred_at texts are made only when the events are taken, so an event
// costs no allocation of its own. The zero Timeline is empty and ready.
type Timeline struct {
	entries []entry
	// free is the unused tail of the current chunk; no event taken so far
	// shares its chunk, so writing into it races with no reader.
	free      []byte
	nextChunk int
}

// entry is an event held by a Timeline: the keys that order it, and its
// payload.
type entry struct {
	at         time.Time
	phase      Phase
	depth      int
	spanID     spans.SpanID
	index      int
	typ, level string
	payload    []byte
	// timeStart and timeEnd delimit its occurred_at text while the events
	// are taken.
	timeStart, timeEnd int
}

// Chunk sizes: small for a run of a few spans, doubling for longer runs up
// to the largest size the allocator serves from its small-object caches.
const (
	firstChunk = 2 << 10
	maxChunk   = 32 << 10
)

// keptEntries bounds the entry slice a timeline keeps for reuse after its
// events are taken, so that an idle open run stays small.
const keptEntries = 64

// Len reports how many events the timeline holds.
func (tl *Timeline) Len() int { return len(tl.entries) }

// add records e with a copy of payload.
func (tl *Timeline) add(e entry, payload []byte) {
	e.payload = tl.store(payload)
	tl.entries = append(tl.entries, e)
}

// store copies p into the current chunk, starting a new one when it does
// not fit; a payload larger than a chunk gets an allocation of its own.
func (tl *Timeline) store(p []byte) []byte {
	if len(p) > cap(tl.free) {
		size := max(tl.nextChunk, firstChunk)
		if len(p) > size {
			return append(make([]byte, 0, len(p)), p...)
		}
		tl.free = make([]byte, 0, size)
		tl.nextChunk = min(2*size, maxChunk)
	}
	out := append(tl.free, p...)
	tl.free = out[len(p):len(p)]
	return out[:len(p):len(p)]
}

// compare is the timeline order (docs/mapping.md, "Order"): occurred_at,
// then start < span events < end, then parent < child; span id and index
// make it total.
func compare(a, b *entry) int {
	if c := a.at.Compare(b.at); c != 0 {
		return c
	}
	if a.phase != b.phase {
		return int(a.phase) - int(b.phase)
	}
	if a.depth != b.depth {
		if a.depth < b.depth {
			return -1
		}
		return 1
	}
	if c := bytes.Compare(a.spanID[:], b.spanID[:]); c != 0 {
		return c
	}
	switch {
	case a.index < b.index:
		return -1
	case a.index > b.index:
		return 1
	}
	return 0
}

// Take returns the events in timeline order and empties the timeline. The
// events share payload chunks, which the timeline gives up, and one
// string for their occurred_at texts: nothing they hold is written again.
func (tl *Timeline) Take() []agentosapi.Event {
	if len(tl.entries) == 0 {
		return nil
	}
	slices.SortFunc(tl.entries, func(a, b entry) int { return compare(&a, &b) })
	out := make([]agentosapi.Event, len(tl.entries))
	times := tl.renderTimes()
	for i := range tl.entries {
		e := &tl.entries[i]
		out[i] = agentosapi.Event{Type: e.typ, Level: e.level, Payload: e.payload, OccurredAt: times[e.timeStart:e.timeEnd]}
	}
	tl.reset()
	return out
}

// appendTo appends the events, in the order they were added, as Events
// sharing payload chunks, which the timeline gives up.
func (tl *Timeline) appendTo(dst []Event) []Event {
	times := tl.renderTimes()
	for i := range tl.entries {
		e := &tl.entries[i]
		dst = append(dst, Event{At: e.at, Phase: e.phase, Depth: e.depth, SpanID: e.spanID, Index: e.index,
			Wire: agentosapi.Event{Type: e.typ, Level: e.level, Payload: e.payload, OccurredAt: times[e.timeStart:e.timeEnd]}})
	}
	tl.reset()
	return dst
}

// reset empties the timeline after its events were taken: the chunk they
// share is given up with them.
func (tl *Timeline) reset() {
	if cap(tl.entries) > keptEntries {
		tl.entries = nil
	} else {
		clear(tl.entries)
		tl.entries = tl.entries[:0]
	}
	tl.free, tl.nextChunk = nil, 0
}

// renderTimes writes the entries' occurred_at texts into one string and
// records where each one lies in it.
func (tl *Timeline) renderTimes() string {
	var sb strings.Builder
	sb.Grow(len(tl.entries) * len(timeUTCExample))
	var scratch [64]byte
	for i := range tl.entries {
		e := &tl.entries[i]
		e.timeStart = sb.Len()
		sb.Write(appendTime(scratch[:0], e.at))
		e.timeEnd = sb.Len()
	}
	return sb.String()
}
