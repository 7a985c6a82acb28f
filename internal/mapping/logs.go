package mapping

import (
	"strings"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// keyEventName names a log record's event where the record has no event
// name field (OpenTelemetry before the field existed).
const keyEventName = "event.name"

// LogEvent turns a log record correlated to a span into the event the
// mapping reads as the span's logs (spans.Span.AppendLogs), and reports whether
// it is a GenAI event (its event name starts with "gen_ai."): other log
// records are not AgentOS content. A map body's members join the record's
// attributes, as the GenAI events put their content in the body
// ({"content":…}, {"message":…,"finish_reason":…}); any other body is
// kept as "body".
func LogEvent(eventName string, at time.Time, attrs []spans.Attr, body spans.Value) (spans.Event, bool) {
	if eventName == "" {
		eventName = stringAttr(attrs, keyEventName)
	}
	if !strings.HasPrefix(eventName, "gen_ai.") {
		return spans.Event{}, false
	}
	out := make([]spans.Attr, 0, len(attrs)+len(body.Map())+1)
	for _, a := range attrs {
		if a.Key != keyEventName {
			out = append(out, a)
		}
	}
	switch body.Kind() {
	case spans.KindMap:
		out = append(out, body.Map()...)
	case spans.KindEmpty:
	default:
		out = append(out, spans.Attr{Key: "body", Value: body})
	}
	return spans.Event{Name: eventName, Time: at, Attrs: out}, true
}
