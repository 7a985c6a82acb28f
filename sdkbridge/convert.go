package sdkbridge

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// converter turns SDK spans into the core's spans. It caches converted
// resources: a process has one or a few, shared by every span. Not safe for
// concurrent use; each owner keeps its own.
type converter struct {
	resources map[*resource.Resource]*spans.Resource
}

func newConverter() *converter {
	return &converter{resources: make(map[*resource.Resource]*spans.Resource, 1)}
}

func (c *converter) resource(r *resource.Resource) *spans.Resource {
	if r == nil {
		return nil
	}
	if out, ok := c.resources[r]; ok {
		return out
	}
	if len(c.resources) > 64 {
		clear(c.resources) // resources are normally few; do not grow without bound
	}
	out := &spans.Resource{Attrs: attrs(r.Attributes())}
	c.resources[r] = out
	return out
}

// span copies what the mapping needs; nothing of s is retained, as the SDK
// requires of exporters. The attributes of the span and of its events share
// one allocation.
func (c *converter) span(s sdktrace.ReadOnlySpan) spans.Span { return c.spanIn(s, nil) }

// spanIn is span with the attributes taken from a (nil: allocated).
func (c *converter) spanIn(s sdktrace.ReadOnlySpan, a *attrArena) spans.Span {
	var out spans.Span
	c.spanInto(&out, s, a)
	return out
}

// spanInto is spanIn writing into out, which is zero: the live worker
// converts in place into its batch.
func (c *converter) spanInto(out *spans.Span, s sdktrace.ReadOnlySpan, a *attrArena) {
	sc, parent := s.SpanContext(), s.Parent()
	out.TraceID = spans.TraceID(sc.TraceID())
	out.SpanID = spans.SpanID(sc.SpanID())
	out.ParentSpanID = spans.SpanID(parent.SpanID())
	out.ParentRemote = parent.IsRemote()
	out.StartTime = s.StartTime()
	out.Resource = c.resource(s.Resource())
	c.endInto(out, s, nil, nil, a)
}

// endedAfter converts it.ended into out, which is zero; start is the
// item's start, converted. What cannot change after Start (ids, parent,
// start time, resource) comes from start, and so do the attributes when
// the span still has those OnStart read (it.attrs): the SDK shares them
// copy-on-write once read, so the same slice is the same content. Each
// method of the SDK's ended span copies the whole of it: fewer calls.
func (c *converter) endedAfter(out, start *spans.Span, it *liveItem, a *attrArena) {
	out.TraceID, out.SpanID = start.TraceID, start.SpanID
	out.ParentSpanID, out.ParentRemote = start.ParentSpanID, start.ParentRemote
	out.StartTime, out.Resource = start.StartTime, start.Resource
	c.endInto(out, it.ended, it.attrs, start.Attrs, a)
}

// endInto converts what a span may change until it ends: name, end time,
// attributes (those of kvs are converted, when s has the same slice),
// status and span events.
func (c *converter) endInto(out *spans.Span, s sdktrace.ReadOnlySpan, kvs []attribute.KeyValue, converted []spans.Attr, a *attrArena) {
	attrs, evs := s.Attributes(), s.Events()
	n := len(attrs)
	if sameKVs(attrs, kvs) {
		out.Attrs, n = converted, 0
	}
	for i := range evs {
		n += len(evs[i].Attributes)
	}
	var pool []spans.Attr
	if n > 0 {
		pool = a.take(n)
	}
	out.Name = s.Name()
	out.EndTime = s.EndTime()
	if !sameKVs(attrs, kvs) {
		out.Attrs, pool = attrsInto(pool, attrs)
	}
	if st := s.Status(); st.Code == codes.Error {
		out.StatusCode, out.StatusMessage = spans.StatusError, st.Description
	} else if st.Code == codes.Ok {
		out.StatusCode = spans.StatusOK
	}
	if len(evs) > 0 {
		out.Events = make([]spans.Event, len(evs))
		for i := range evs {
			e := &evs[i]
			out.Events[i] = spans.Event{Name: e.Name, Time: e.Time}
			out.Events[i].Attrs, pool = attrsInto(pool, e.Attributes)
		}
	}
}

// sameKVs reports whether a and b are the same slice, not merely equal:
// once the SDK has handed a span's attributes out, it copies them before
// any write (SetAttributes, deduplication), so the same slice holds the
// same values (TestLiveStartAndEndQueuedTogether overwrites one).
func sameKVs(a, b []attribute.KeyValue) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}

// attrCount is how many attributes converting ss takes from an arena:
// those of the spans and of their span events.
func attrCount(ss []sdktrace.ReadOnlySpan) int {
	n := 0
	for _, s := range ss {
		n += len(s.Attributes())
		for _, e := range s.Events() {
			n += len(e.Attributes)
		}
	}
	return n
}

// attrsInto converts kvs into the front of pool and returns them (nil when
// there are none), capped so that appending to them copies, and the rest
// of pool.
func attrsInto(pool []spans.Attr, kvs []attribute.KeyValue) (converted, rest []spans.Attr) {
	if len(kvs) == 0 {
		return nil, pool
	}
	converted = pool[:len(kvs):len(kvs)]
	for i := range kvs {
		kv, c := &kvs[i], &converted[i]
		c.Key = string(kv.Key)
		// Strings and ints, most attributes, without the call.
		switch kv.Value.Type() {
		case attribute.STRING:
			c.Value = spans.StringValue(kv.Value.AsString())
		case attribute.INT64:
			c.Value = spans.IntValue(kv.Value.AsInt64())
		default:
			c.Value = value(kv.Value)
		}
	}
	return converted, pool[len(kvs):]
}

func attrs(kvs []attribute.KeyValue) []spans.Attr {
	if len(kvs) == 0 {
		return nil
	}
	out, _ := attrsInto(make([]spans.Attr, len(kvs)), kvs)
	return out
}

func value(v attribute.Value) spans.Value {
	switch v.Type() {
	case attribute.STRING:
		return spans.StringValue(v.AsString())
	case attribute.BOOL:
		return spans.BoolValue(v.AsBool())
	case attribute.INT64:
		return spans.IntValue(v.AsInt64())
	case attribute.FLOAT64:
		return spans.DoubleValue(v.AsFloat64())
	case attribute.BYTESLICE:
		return spans.BytesValue(v.AsByteSlice())
	case attribute.STRINGSLICE:
		return slice(v.AsStringSlice(), spans.StringValue)
	case attribute.INT64SLICE:
		return slice(v.AsInt64Slice(), spans.IntValue)
	case attribute.FLOAT64SLICE:
		return slice(v.AsFloat64Slice(), spans.DoubleValue)
	case attribute.BOOLSLICE:
		return slice(v.AsBoolSlice(), spans.BoolValue)
	case attribute.SLICE:
		return slice(v.AsSlice(), value)
	case attribute.MAP:
		return spans.MapValue(attrs(v.AsMap()))
	}
	return spans.Value{}
}

func slice[T any](xs []T, conv func(T) spans.Value) spans.Value {
	vs := make([]spans.Value, len(xs))
	for i, x := range xs {
		vs[i] = conv(x)
	}
	return spans.SliceValue(vs)
}

// started converts what OnStart copied of a span into out, which is zero,
// its attributes taken from a (nil: allocated).
func (c *converter) started(out *spans.Span, it *liveItem, a *attrArena) {
	if len(it.attrs) > 0 {
		out.Attrs, _ = attrsInto(a.take(len(it.attrs)), it.attrs)
	}
	out.TraceID = it.traceID
	out.SpanID = it.spanID
	out.ParentSpanID = it.parentID
	out.ParentRemote = it.remote
	out.Name = it.name
	out.StartTime = it.start
	out.Resource = c.resource(it.res)
}

// attrArena hands out converted attributes from blocks it reuses: the live
// processor's worker converts a child span's attributes into it, as the
// tracker keeps nothing of a child span once the batch is handed over
// (a run keeps its root, whose attributes are allocated). A nil arena
// allocates.
type attrArena struct {
	buf []spans.Attr
}

// arenaAttrs is the size of an arena block: a batch of spans with a few
// attributes each fits in one.
const arenaAttrs = 2048

// take returns n attributes, capped so that appending to them copies.
func (a *attrArena) take(n int) []spans.Attr {
	if a == nil {
		return make([]spans.Attr, n)
	}
	if cap(a.buf)-len(a.buf) < n {
		// Spans converted from the old block keep it until they go.
		a.buf = make([]spans.Attr, 0, max(arenaAttrs, n))
	}
	lo := len(a.buf)
	a.buf = a.buf[:lo+n]
	return a.buf[lo : lo+n : lo+n]
}

// reset makes the block reusable once what was converted into it is gone;
// a block grown past the usual size is let go.
func (a *attrArena) reset() {
	if cap(a.buf) > arenaAttrs {
		a.buf = nil
		return
	}
	clear(a.buf)
	a.buf = a.buf[:0]
}
