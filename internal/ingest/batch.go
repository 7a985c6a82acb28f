package ingest

import (
	"bytes"
	"fmt"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

// The events body is eventsPrefix + run id + eventsMid + events joined by
// commas + eventsSuffix; the run id is a validated UUID and needs no escaping.
const (
	eventsPrefix = `{"run_id":"`
	eventsMid    = `","events":[`
	eventsSuffix = `]}`
)

// eventsOverhead is the size of an events body without its events.
func eventsOverhead(runID string) int {
	return len(eventsPrefix) + len(runID) + len(eventsMid) + len(eventsSuffix)
}

// sendableEvents are the events of one SendEvents call that may be sent,
// with the exact size each encodes to, so that batches are cut without
// encoding anything twice: each batch is encoded once, straight into the
// body it is sent in.
type sendableEvents struct {
	sizes []int // sizes[i]: encoded size of sendable event i
	// index[i] is its index in the caller's slice; nil while none was
	// left out, as it then is i.
	index []int
	bad   []*EventError
}

func (e *sendableEvents) size(i int) int { return e.sizes[i] }

// at is the index of sendable event i in the caller's slice.
func (e *sendableEvents) at(i int) int {
	if e.index == nil {
		return i
	}
	return e.index[i]
}

// leaveOut notes that the caller's event i is not sendable.
func (e *sendableEvents) leaveOut(bad *EventError) {
	if e.index == nil {
		// Every event before this one was sendable.
		e.index = make([]int, len(e.sizes), cap(e.sizes))
		for i := range e.index {
			e.index[i] = i
		}
	}
	e.bad = append(e.bad, bad)
}

// writeBody replaces body with the events request for sendable events
// [first, end) of events.
func (e *sendableEvents) writeBody(body *bytes.Buffer, events []agentosapi.Event, runID string, first, end int) {
	total := eventsOverhead(runID) + end - first - 1
	for i := first; i < end; i++ {
		total += e.sizes[i]
	}
	body.Reset()
	body.Grow(total)
	b := body.AvailableBuffer()
	b = append(b, eventsPrefix...)
	b = append(b, runID...)
	b = append(b, eventsMid...)
	for i := first; i < end; i++ {
		if i > first {
			b = append(b, ',')
		}
		b = agentosapi.AppendEvent(b, &events[e.at(i)])
	}
	b = append(b, eventsSuffix...)
	body.Write(b) // in place: Grow made room for all of it
}

// checkEvents validates events and sizes them, leaving out each event that
// is invalid or that alone would not fit in maxBytes, with an *EventError
// for it.
//
// Payloads are not scanned: the mapping wrote them as compact JSON objects,
// and Validate checks they are objects; scanning them again would cost
// more than everything else a span costs here. The rest of an event is
// encoded into scratch to be measured; it is small.
func checkEvents(scratch []byte, events []agentosapi.Event, overhead, maxBytes int) (*sendableEvents, []byte) {
	out := &sendableEvents{sizes: make([]int, 0, len(events))}
	for i := range events {
		ev := &events[i]
		if err := ev.Validate(); err != nil {
			out.leaveOut(&EventError{Index: i, Type: ev.Type, Err: err})
			continue
		}
		var size int
		size, scratch = headSize(scratch, ev)
		if len(ev.Payload) > 0 {
			size += len(`,"payload":`) + len(ev.Payload)
		}
		if overhead+size > maxBytes {
			out.leaveOut(&EventError{Index: i, Type: ev.Type, Err: fmt.Errorf(
				"%w: encodes to %d bytes, and with the request envelope (%d bytes) that exceeds MaxBodyBytes %d",
				ErrEventTooLarge, size, overhead, maxBytes)})
			continue
		}
		out.sizes = append(out.sizes, size)
		if out.index != nil {
			out.index = append(out.index, i)
		}
	}
	return out, scratch
}

// nextBatch returns the end (exclusive) of the batch that starts at first:
// as many events as fit in maxBytes, counting overhead and one comma between
// events, and at most maxEvents. The event at first always goes, as
// checkEvents has checked that it fits alone.
func nextBatch(size func(int) int, n, first, overhead, maxBytes, maxEvents int) int {
	total := overhead + size(first)
	end := first + 1
	for end < n && end-first < maxEvents {
		total += 1 + size(end)
		if total > maxBytes {
			break
		}
		end++
	}
	return end
}

// headSize is the size AppendEvent writes for ev without its payload:
// counted, for the strings that need no escaping (as the mapping's types,
// levels and times do not), else encoded into scratch.
func headSize(scratch []byte, ev *agentosapi.Event) (int, []byte) {
	if !plain(ev.Type) || !plain(ev.Level) || !plain(ev.OccurredAt) {
		scratch = agentosapi.AppendEvent(scratch[:0], &agentosapi.Event{Type: ev.Type, Level: ev.Level, OccurredAt: ev.OccurredAt})
		return len(scratch), scratch
	}
	n := len(`{"type":""}`) + len(ev.Type)
	if ev.Level != "" {
		n += len(`,"level":""`) + len(ev.Level)
	}
	if ev.OccurredAt != "" {
		n += len(`,"occurred_at":""`) + len(ev.OccurredAt)
	}
	return n, scratch
}

// plain reports whether s is written into a JSON string as it is.
func plain(s string) bool { return agentosapi.SkipPlain(s, 0) == len(s) }
