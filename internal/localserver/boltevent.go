package localserver

import (
	"encoding/binary"
	"errors"
	"time"
)

// Events are stored in a format of their own rather than gob: a gob
// encoder writes the type's description before every value, which cost a
// quarter of the store's CPU per event batch (BenchmarkIngestEvents,
// store=bolt). The layout: a version byte, the sequence number and the
// receipt time, then type, level, occurred_at and payload, each a
// uvarint length and its bytes.
const eventEncoding = 1

func appendEvent(b []byte, e *RecordedEvent) ([]byte, error) {
	b = append(b, eventEncoding)
	b = binary.AppendVarint(b, e.SequenceNumber)
	t, err := e.ReceivedAt.AppendBinary(nil)
	if err != nil {
		return nil, err
	}
	for _, field := range [][]byte{t, []byte(e.Type), []byte(e.Level), []byte(e.OccurredAt), e.Payload} {
		b = binary.AppendUvarint(b, uint64(len(field)))
		b = append(b, field...)
	}
	return b, nil
}

var errBadEvent = errors.New("malformed stored event")

func decodeEvent(b []byte, e *RecordedEvent) error {
	if len(b) == 0 || b[0] != eventEncoding {
		return errBadEvent
	}
	b = b[1:]
	seq, n := binary.Varint(b)
	if n <= 0 {
		return errBadEvent
	}
	e.SequenceNumber, b = seq, b[n:]
	var fields [5][]byte
	for i := range fields {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return errBadEvent
		}
		fields[i], b = b[n:n+int(l)], b[n+int(l):]
	}
	if len(b) != 0 {
		return errBadEvent
	}
	var t time.Time
	if err := t.UnmarshalBinary(fields[0]); err != nil {
		return err
	}
	e.ReceivedAt = t
	e.Type, e.Level, e.OccurredAt = string(fields[1]), string(fields[2]), string(fields[3])
	e.Payload = nil
	if len(fields[4]) > 0 {
		// Copied: bbolt's bytes are valid only inside the transaction.
		e.Payload = append([]byte(nil), fields[4]...)
	}
	return nil
}
