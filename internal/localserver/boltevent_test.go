package localserver

import (
	"bytes"
	"testing"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

// FuzzStoredEvent: an event survives its encoding byte for byte, and bytes
// that are not an encoded event (a damaged file) give an error, never a
// panic.
func FuzzStoredEvent(f *testing.F) {
	f.Add("llm.request", "info", "2026-05-01T10:00:00.123456789Z", []byte(`{ "model" : "m" }`), int64(1), []byte{})
	f.Add("", "", "", []byte(nil), int64(-5), []byte{1, 2, 200, 3})
	f.Fuzz(func(t *testing.T, typ, level, occurred string, payload []byte, seq int64, junk []byte) {
		e := RecordedEvent{Event: agentosapi.Event{Type: typ, Level: level, OccurredAt: occurred, Payload: payload},
			SequenceNumber: seq, ReceivedAt: time.Unix(0, seq).In(time.FixedZone("x", 3600))}
		b, err := appendEvent(nil, &e)
		if err != nil {
			t.Fatal(err)
		}
		var got RecordedEvent
		if err := decodeEvent(b, &got); err != nil {
			t.Fatal(err)
		}
		if got.Type != typ || got.Level != level || got.OccurredAt != occurred || !bytes.Equal(got.Payload, payload) ||
			got.SequenceNumber != seq || !got.ReceivedAt.Equal(e.ReceivedAt) {
			t.Fatalf("round trip: %+v, want %+v", got, e)
		}
		_ = decodeEvent(junk, &got)
		_ = decodeEvent(b[:len(b)/2], &got)
	})
}
