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

// encodedEvents holds the sendable events of one SendEvents call, each
// encoded once and followed by a comma, back to back in buf, so a batch of
// consecutive events is one slice of buf.
type encodedEvents struct {
	buf   []byte
	ends  []int // ends[i]: offset just past sendable event i, before its comma
	index []int // index[i]: its index in the caller's slice
	bad   []*EventError
}

func (e *encodedEvents) size(i int) int { return e.ends[i] - e.start(i) }

func (e *encodedEvents) start(i int) int {
	if i == 0 {
		return 0
	}
	return e.ends[i-1] + 1
}

// writeBody replaces body with the events request for events [first, end).
func (e *encodedEvents) writeBody(body *bytes.Buffer, runID string, first, end int) {
	body.Reset()
	body.WriteString(eventsPrefix)
	body.WriteString(runID)
	body.WriteString(eventsMid)
	body.Write(e.buf[e.start(first):e.ends[end-1]])
	body.WriteString(eventsSuffix)
}

// encodeEvents validates and encodes events into buf, leaving out each
// event that is invalid or that alone would not fit in maxBytes, with an
// *EventError for it.
//
// Payloads are copied as they are: the mapping wrote them as compact JSON
// objects, and Validate checks they are objects; scanning them again would
// cost more than everything else a span costs here.
func encodeEvents(buf *bytes.Buffer, events []agentosapi.Event, overhead, maxBytes int) *encodedEvents {
	out := &encodedEvents{ends: make([]int, 0, len(events)), index: make([]int, 0, len(events))}
	for i := range events {
		ev := &events[i]
		if err := ev.Validate(); err != nil {
			out.bad = append(out.bad, &EventError{Index: i, Type: ev.Type, Err: err})
			continue
		}
		mark := buf.Len()
		// Appending to the buffer's free space writes in place. Each event
		// is followed by a comma, overwritten where a batch ends.
		buf.Write(append(agentosapi.AppendEvent(buf.AvailableBuffer(), ev), ','))
		end := buf.Len() - 1
		if size := end - mark; overhead+size > maxBytes {
			buf.Truncate(mark)
			out.bad = append(out.bad, &EventError{Index: i, Type: ev.Type, Err: fmt.Errorf(
				"%w: encodes to %d bytes, and with the request envelope (%d bytes) that exceeds MaxBodyBytes %d",
				ErrEventTooLarge, size, overhead, maxBytes)})
			continue
		}
		out.ends = append(out.ends, end)
		out.index = append(out.index, i)
	}
	out.buf = buf.Bytes()
	return out
}

// nextBatch returns the end (exclusive) of the batch that starts at first:
// as many events as fit in maxBytes, counting overhead and one comma between
// events, and at most maxEvents. The event at first always goes, as
// encodeEvents has checked that it fits alone.
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
