package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
)

// eventSender sends the encoded events of one SendEvents call, in order,
// and copes with 413: AgentOS's body limit is not documented, so a batch it
// refuses as too large is split until it fits.
type eventSender struct {
	c       *Client
	agentID string
	runID   string
	key     secret
	events  []agentosapi.Event // the caller's
	ok      *sendableEvents
	body    *bytes.Buffer
	sent    int
}

// send posts the sendable events [first, end), in halves after a 413.
func (s *eventSender) send(ctx context.Context, first, end int) error {
	s.ok.writeBody(s.body, s.events, s.runID, first, end)
	err := s.post(ctx, end-first)
	switch {
	case err == nil:
		s.sent += end - first
		return nil
	case !isTooLarge(err):
		return err
	case end-first == 1:
		return s.sendTruncated(ctx, s.ok.at(first))
	}
	s.c.stats.tooLargeSplits.Add(1)
	s.c.log.LogAttrs(ctx, slog.LevelDebug, "AgentOS refused an events request as too large; splitting it",
		slog.String("run_id", s.runID), slog.Int("events", end-first), slog.Int("request_bytes", s.body.Len()))
	mid := first + (end-first)/2
	if err := s.send(ctx, first, mid); err != nil {
		return err
	}
	return s.send(ctx, mid, end)
}

// post sends s.body, which holds n events.
func (s *eventSender) post(ctx context.Context, n int) error {
	released, _, err := s.c.post(ctx, retryCall{endpoint: agentosapi.PathEvents, events: n}, s.agentID, s.key, s.body.Bytes(), nil)
	if !released {
		s.body = new(bytes.Buffer) // the transport may still read the old one
	}
	return err
}

// sendTruncated sends the caller's event i alone with its payload cut,
// halving what is kept until AgentOS takes it.
func (s *eventSender) sendTruncated(ctx context.Context, i int) error {
	ev := s.events[i]
	for keep := len(ev.Payload) / 2; ; keep /= 2 {
		cut := truncateEvent(ev, keep)
		s.body.Reset()
		s.body.WriteString(eventsPrefix)
		s.body.WriteString(s.runID)
		s.body.WriteString(eventsMid)
		s.body.Write(agentosapi.AppendEvent(s.body.AvailableBuffer(), &cut))
		s.body.WriteString(eventsSuffix)
		err := s.post(ctx, 1)
		switch {
		case err == nil:
			s.sent++
			s.c.stats.eventsTruncated.Add(1)
			s.c.log.LogAttrs(ctx, slog.LevelWarn, "AgentOS refused an event as too large; sent it with its payload cut",
				slog.String("run_id", s.runID), slog.String("type", ev.Type),
				slog.Int("payload_bytes", len(ev.Payload)), slog.Int("kept_bytes", keep))
			return nil
		case !isTooLarge(err):
			return err
		case keep == 0:
			// Even the bare marker is refused: the server's limit is absurd.
			return &EventError{Index: i, Type: ev.Type, Err: fmt.Errorf("%w: refused even when cut to its span fields: %w", ErrEventTooLarge, err)}
		}
	}
}

func isTooLarge(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusRequestEntityTooLarge
}

// keptPayloadFields survive truncation, so a cut event still sits in its
// place in the trace.
var keptPayloadFields = []string{"span_id", "parent_span_id", "span_name"}

// maxKeptFieldBytes bounds a kept field: a huge span name is cut like the
// rest.
const maxKeptFieldBytes = 256

// truncateEvent returns ev with its payload replaced by truncatedObject.
func truncateEvent(ev agentosapi.Event, keep int) agentosapi.Event {
	ev.Payload = truncatedObject(ev.Payload, keep)
	return ev
}

// truncatedObject replaces a JSON object that is too large with a marker
// object: its span fields, "truncated": true, the original size and the
// first keep bytes of the original as the string "preview".
func truncatedObject(raw json.RawMessage, keep int) json.RawMessage {
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(raw, &fields) // a value that is not an object keeps no fields
	var b bytes.Buffer
	b.WriteByte('{')
	for _, name := range keptPayloadFields {
		if v, ok := fields[name]; ok && len(v) <= maxKeptFieldBytes {
			fmt.Fprintf(&b, "%q:%s,", name, v)
		}
	}
	b.WriteString(`"truncated":true,"original_bytes":`)
	b.WriteString(strconv.Itoa(len(raw)))
	if keep > 0 {
		b.WriteString(`,"preview":`)
		preview, _ := json.Marshal(cutUTF8(string(raw), keep) + truncationMarker)
		b.Write(preview)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// shrinkTooLarge sends a request again while AgentOS answers it 413, with
// its one large field (size bytes) cut ever shorter by send, so that no run
// is lost to the API's undocumented body limit.
func (c *Client) shrinkTooLarge(ctx context.Context, err error, endpoint string, size int, send func(keep int) error) error {
	if !isTooLarge(err) || size == 0 {
		return err
	}
	for keep := size / 2; ; keep /= 2 {
		err = send(keep)
		switch {
		case err == nil:
			c.stats.fieldsTruncated.Add(1)
			c.log.LogAttrs(ctx, slog.LevelWarn, "AgentOS refused a request as too large; sent it with its largest field cut",
				slog.String("endpoint", endpoint), slog.Int("field_bytes", size), slog.Int("kept_bytes", keep))
			return nil
		case !isTooLarge(err) || keep == 0:
			return err
		}
	}
}

// truncationMarker ends a cut preview, as the mapping marks cut strings.
const truncationMarker = "…[truncated]"

// cutUTF8 returns at most n bytes of s, cut at a rune boundary.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
