package pdataspans

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// OTLP span flags that carry whether the parent is remote.
const (
	flagHasIsRemote = 0x100
	flagIsRemote    = 0x200
)

// Append converts every span of td and appends it to dst. Spans of one
// resource share one *spans.Resource.
func Append(dst []spans.Span, td ptrace.Traces) []spans.Span {
	if n := td.SpanCount(); cap(dst)-len(dst) < n {
		dst = append(make([]spans.Span, 0, len(dst)+n), dst...)
	}
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res := &spans.Resource{Attrs: Attrs(rs.Resource().Attributes())}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j).Spans()
			for k := 0; k < ss.Len(); k++ {
				dst = append(dst, Span(ss.At(k), res))
			}
		}
	}
	return dst
}

// Span converts one span. The attributes of the span and of its events
// share one allocation.
func Span(s ptrace.Span, res *spans.Resource) spans.Span {
	attrs, evs := s.Attributes(), s.Events()
	n := attrs.Len()
	for i := 0; i < evs.Len(); i++ {
		n += evs.At(i).Attributes().Len()
	}
	var pool []spans.Attr
	if n > 0 {
		pool = make([]spans.Attr, 0, n)
	}
	flags := s.Flags()
	out := spans.Span{
		TraceID:      spans.TraceID(s.TraceID()),
		SpanID:       spans.SpanID(s.SpanID()),
		ParentSpanID: spans.SpanID(s.ParentSpanID()),
		ParentRemote: flags&flagHasIsRemote != 0 && flags&flagIsRemote != 0,
		Name:         s.Name(),
		StartTime:    s.StartTimestamp().AsTime(),
		Resource:     res,
	}
	out.EndTime = out.StartTime
	if end := s.EndTimestamp(); end != 0 {
		out.EndTime = end.AsTime()
	}
	out.Attrs, pool = attrsInto(pool, attrs)
	switch st := s.Status(); st.Code() {
	case ptrace.StatusCodeOk:
		out.StatusCode = spans.StatusOK
	case ptrace.StatusCodeError:
		out.StatusCode = spans.StatusError
		out.StatusMessage = st.Message()
	}
	if evs.Len() > 0 {
		out.Events = make([]spans.Event, evs.Len())
		for i := range out.Events {
			e := evs.At(i)
			out.Events[i] = spans.Event{Name: e.Name(), Time: e.Timestamp().AsTime()}
			out.Events[i].Attrs, pool = attrsInto(pool, e.Attributes())
		}
	}
	return out
}

// attrsInto converts m into the free capacity of pool and returns them
// (nil when m is empty), capped so that appending to them copies, and
// pool with them taken.
func attrsInto(pool []spans.Attr, m pcommon.Map) (converted, rest []spans.Attr) {
	if m.Len() == 0 {
		return nil, pool
	}
	start := len(pool)
	for k, v := range m.All() {
		pool = append(pool, spans.Attr{Key: k, Value: Value(v)})
	}
	return pool[start:len(pool):len(pool)], pool
}

// Attrs converts an attribute map; nil when empty.
func Attrs(m pcommon.Map) []spans.Attr {
	if m.Len() == 0 {
		return nil
	}
	out, _ := attrsInto(make([]spans.Attr, 0, m.Len()), m)
	return out
}

// Value converts one attribute value.
func Value(v pcommon.Value) spans.Value {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return spans.StringValue(v.Str())
	case pcommon.ValueTypeBool:
		return spans.BoolValue(v.Bool())
	case pcommon.ValueTypeInt:
		return spans.IntValue(v.Int())
	case pcommon.ValueTypeDouble:
		return spans.DoubleValue(v.Double())
	case pcommon.ValueTypeBytes:
		return spans.BytesValue(v.Bytes().AsRaw())
	case pcommon.ValueTypeSlice:
		sl := v.Slice()
		vs := make([]spans.Value, sl.Len())
		for i := range vs {
			vs[i] = Value(sl.At(i))
		}
		return spans.SliceValue(vs)
	case pcommon.ValueTypeMap:
		return spans.MapValue(Attrs(v.Map()))
	}
	return spans.Value{}
}
