package spans

import (
	"encoding/hex"
	"slices"
	"time"
)

// TraceID identifies a trace.
type TraceID [16]byte

// SpanID identifies a span within a trace.
type SpanID [8]byte

// String returns the 32 lowercase hex characters of the id.
func (t TraceID) String() string { return hex.EncodeToString(t[:]) }

// IsValid reports whether the id is not all zeros.
func (t TraceID) IsValid() bool { return t != TraceID{} }

// String returns the 16 lowercase hex characters of the id.
func (s SpanID) String() string { return hex.EncodeToString(s[:]) }

// IsValid reports whether the id is not all zeros.
func (s SpanID) IsValid() bool { return s != SpanID{} }

// StatusCode is the span status code.
type StatusCode uint8

// Status codes, as in OpenTelemetry.
const (
	StatusUnset StatusCode = iota
	StatusOK
	StatusError
)

// Span is an ended (or, for the live processor, started) span.
type Span struct {
	TraceID      TraceID
	SpanID       SpanID
	ParentSpanID SpanID

	Name      string
	StartTime time.Time
	// EndTime is zero for a span that has only started.
	EndTime time.Time

	StatusCode StatusCode
	// ParentRemote is set when the parent lives in another process. (It
	// sits here, beside StatusCode, so that the two share a word.)
	ParentRemote bool
	// logs counts the log records at the end of Events (see Logs); it too
	// shares that word, where a slice of its own would add 24 bytes to
	// every held span (BenchmarkMemoryPerOpenRun/exporter/9-held: 2332 →
	// 2620 B per run).
	logs          uint32
	StatusMessage string

	Attrs []Attr
	// Events are the span events, then the log records correlated to the
	// span (AppendLogs).
	Events []Event
	// Resource is shared by all spans of one resource; never mutated.
	Resource *Resource
}

// SpanEvents returns the span's own events.
func (s *Span) SpanEvents() []Event { return s.Events[:len(s.Events)-int(s.logs)] }

// Logs returns the log records correlated to the span by trace and span id
// (GenAI content an instrumentation logs rather than records on the span),
// as events.
func (s *Span) Logs() []Event { return s.Events[len(s.Events)-int(s.logs):] }

// AppendLogs attaches log records to the span, after its events, keeping
// the records in time order. Events is copied, not appended to in place: a
// converter may share its array.
func (s *Span) AppendLogs(evs ...Event) {
	if len(evs) == 0 {
		return
	}
	all := make([]Event, 0, len(s.Events)+len(evs))
	s.Events = append(append(all, s.Events...), evs...)
	s.logs += uint32(len(evs))
	slices.SortStableFunc(s.Logs(), func(a, b Event) int { return a.Time.Compare(b.Time) })
}

// TakeLogs detaches the span's log records and returns them.
func (s *Span) TakeLogs() []Event {
	logs := s.Logs()
	s.Events = s.Events[: len(s.Events)-int(s.logs) : len(s.Events)-int(s.logs)]
	s.logs = 0
	return logs
}

// HasParent reports whether the span has a parent span id.
func (s *Span) HasParent() bool { return s.ParentSpanID.IsValid() }

// Ended reports whether the span has an end time.
func (s *Span) Ended() bool { return !s.EndTime.IsZero() }

// Attr returns the value of the span attribute key.
func (s *Span) Attr(key string) (Value, bool) { return Lookup(s.Attrs, key) }

// Event is a span event.
type Event struct {
	Name  string
	Time  time.Time
	Attrs []Attr
}

// Resource is the entity that produced the spans.
type Resource struct {
	Attrs []Attr
}

// Attr returns the value of the resource attribute key; a nil resource has none.
func (r *Resource) Attr(key string) (Value, bool) {
	if r == nil {
		return Value{}, false
	}
	return Lookup(r.Attrs, key)
}

// Attr is a key and its value.
type Attr struct {
	Key   string
	Value Value
}

// Lookup finds key in attrs. Spans carry tens of attributes, so a linear scan
// beats building a map.
func Lookup(attrs []Attr, key string) (Value, bool) {
	for i := range attrs {
		if attrs[i].Key == key {
			return attrs[i].Value, true
		}
	}
	return Value{}, false
}
