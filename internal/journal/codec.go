package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

// The span encoding is private to the journal: a version byte, then
// uvarint lengths, varint times in Unix nanoseconds and values tagged by
// their kind. Resources shared by spans of a chunk are written once.

const codecVersion = 1

// ErrCorrupt means a stored record could not be decoded.
var ErrCorrupt = errors.New("journal: corrupt record")

// maxDepth bounds the nesting of attribute values a record may hold, so a
// corrupt record cannot exhaust the stack.
const maxDepth = 64

// span flags
const (
	flagParentRemote = 1 << iota
	flagStart
	flagEnd
	flagLogs // the last events are log records (spans.Span.Logs)
)

// encodeSpans appends the encoding of the spans ss[pick[i]] (all of ss when
// pick is nil) to buf. They share a trace id, which is not written.
func encodeSpans(buf []byte, ss []spans.Span, pick []int) []byte {
	if pick == nil {
		pick = make([]int, len(ss))
		for i := range pick {
			pick[i] = i
		}
	}
	buf = append(buf, codecVersion)
	// A chunk's spans share one resource or a few: a linear search beats a
	// map, and the array keeps the usual case free of allocations.
	var resArr [4]*spans.Resource
	res := resArr[:0]
	for _, i := range pick {
		if r := ss[i].Resource; r != nil && resourceIndex(res, r) == 0 {
			res = append(res, r)
		}
	}
	buf = binary.AppendUvarint(buf, uint64(len(res)))
	for _, r := range res {
		buf = appendAttrs(buf, r.Attrs)
	}
	buf = binary.AppendUvarint(buf, uint64(len(pick)))
	for _, i := range pick {
		s := &ss[i]
		buf = append(buf, s.SpanID[:]...)
		buf = append(buf, s.ParentSpanID[:]...)
		var flags byte
		if s.ParentRemote {
			flags |= flagParentRemote
		}
		if !s.StartTime.IsZero() {
			flags |= flagStart
		}
		if !s.EndTime.IsZero() {
			flags |= flagEnd
		}
		logs := len(s.Logs())
		if logs > 0 {
			flags |= flagLogs
		}
		buf = append(buf, flags)
		buf = appendString(buf, s.Name)
		if flags&flagStart != 0 {
			buf = binary.AppendVarint(buf, s.StartTime.UnixNano())
		}
		if flags&flagEnd != 0 {
			buf = binary.AppendVarint(buf, s.EndTime.UnixNano())
		}
		buf = append(buf, byte(s.StatusCode))
		buf = appendString(buf, s.StatusMessage)
		buf = appendAttrs(buf, s.Attrs)
		buf = binary.AppendUvarint(buf, uint64(len(s.Events)))
		if logs > 0 {
			buf = binary.AppendUvarint(buf, uint64(logs))
		}
		for j := range s.Events {
			e := &s.Events[j]
			buf = appendString(buf, e.Name)
			buf = appendTime(buf, e.Time)
			buf = appendAttrs(buf, e.Attrs)
		}
		buf = binary.AppendUvarint(buf, resourceIndex(res, s.Resource)) // 0: none
	}
	return buf
}

// resourceIndex is r's position in res counted from 1, or 0 when absent.
func resourceIndex(res []*spans.Resource, r *spans.Resource) uint64 {
	if r == nil {
		return 0
	}
	for i, x := range res {
		if x == r {
			return uint64(i) + 1
		}
	}
	return 0
}

// zeroTime stands for the zero time.Time, whose UnixNano is undefined.
const zeroTime = math.MinInt64

func appendTime(buf []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(buf, zeroTime)
	}
	return binary.AppendVarint(buf, t.UnixNano())
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

func appendAttrs(buf []byte, attrs []spans.Attr) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(attrs)))
	for i := range attrs {
		buf = appendString(buf, attrs[i].Key)
		buf = appendValue(buf, attrs[i].Value)
	}
	return buf
}

func appendValue(buf []byte, v spans.Value) []byte {
	buf = append(buf, byte(v.Kind()))
	switch v.Kind() {
	case spans.KindString, spans.KindBytes:
		buf = appendString(buf, v.Str())
	case spans.KindBool:
		b := byte(0)
		if v.Bool() {
			b = 1
		}
		buf = append(buf, b)
	case spans.KindInt:
		buf = binary.AppendVarint(buf, v.Int())
	case spans.KindDouble:
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v.Double()))
	case spans.KindSlice:
		vs := v.Slice()
		buf = binary.AppendUvarint(buf, uint64(len(vs)))
		for _, e := range vs {
			buf = appendValue(buf, e)
		}
	case spans.KindMap:
		buf = appendAttrs(buf, v.Map())
	}
	return buf
}

// decoder reads an encoding; the first error sticks and later reads return
// zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, what)
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) bytes(n int) []byte {
	if n < 0 || len(d.b) < n {
		d.fail("truncated")
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length, which cannot exceed the bytes left since every
// element takes at least one.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("length past the end")
		return 0
	}
	return int(n)
}

func (d *decoder) string() string {
	n := d.count()
	return string(d.bytes(n))
}

func (d *decoder) time() time.Time {
	ns := d.varint()
	if ns == zeroTime {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// decodeSpans decodes what encodeSpans wrote, for trace id.
func decodeSpans(b []byte, id spans.TraceID) ([]spans.Span, error) {
	d := &decoder{b: b}
	if v := d.byte(); d.err == nil && v != codecVersion {
		return nil, fmt.Errorf("%w: unknown version %d", ErrCorrupt, v)
	}
	res := make([]*spans.Resource, d.count())
	for i := range res {
		res[i] = &spans.Resource{Attrs: d.attrs(0)}
	}
	out := make([]spans.Span, d.count())
	for i := range out {
		s := &out[i]
		s.TraceID = id
		copy(s.SpanID[:], d.bytes(8))
		copy(s.ParentSpanID[:], d.bytes(8))
		flags := d.byte()
		s.ParentRemote = flags&flagParentRemote != 0
		s.Name = d.string()
		if flags&flagStart != 0 {
			s.StartTime = d.time()
		}
		if flags&flagEnd != 0 {
			s.EndTime = d.time()
		}
		s.StatusCode = spans.StatusCode(d.byte())
		if s.StatusCode > spans.StatusError {
			d.fail("bad status code")
		}
		s.StatusMessage = d.string()
		s.Attrs = d.attrs(0)
		if n := d.count(); n > 0 {
			logs := 0
			if flags&flagLogs != 0 {
				if logs = d.count(); logs > n {
					d.fail("more log records than events")
					logs = 0
				}
			}
			s.Events = make([]spans.Event, n)
			for j := range s.Events {
				e := &s.Events[j]
				e.Name = d.string()
				e.Time = d.time()
				e.Attrs = d.attrs(0)
			}
			if logs > 0 {
				all := s.Events
				s.Events = all[: n-logs : n-logs]
				s.AppendLogs(all[n-logs:]...)
			}
		}
		if r := d.uvarint(); r > 0 {
			if r > uint64(len(res)) {
				d.fail("bad resource index")
			} else {
				s.Resource = res[r-1]
			}
		}
		if d.err != nil {
			return nil, d.err
		}
	}
	if d.err == nil && len(d.b) > 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return nil, d.err
	}
	return out, nil
}

func (d *decoder) attrs(depth int) []spans.Attr {
	n := d.count()
	if n == 0 {
		return nil
	}
	attrs := make([]spans.Attr, n)
	for i := range attrs {
		attrs[i].Key = d.string()
		attrs[i].Value = d.value(depth)
	}
	return attrs
}

func (d *decoder) value(depth int) spans.Value {
	if depth > maxDepth {
		d.fail("values nested too deep")
		return spans.Value{}
	}
	switch k := spans.Kind(d.byte()); k {
	case spans.KindEmpty:
		return spans.Value{}
	case spans.KindString:
		return spans.StringValue(d.string())
	case spans.KindBytes:
		return spans.BytesValue(d.bytes(d.count()))
	case spans.KindBool:
		switch d.byte() {
		case 0:
			return spans.BoolValue(false)
		case 1:
			return spans.BoolValue(true)
		}
		d.fail("bad bool")
	case spans.KindInt:
		return spans.IntValue(d.varint())
	case spans.KindDouble:
		b := d.bytes(8)
		if b == nil {
			return spans.Value{}
		}
		return spans.DoubleValue(math.Float64frombits(binary.LittleEndian.Uint64(b)))
	case spans.KindSlice:
		vs := make([]spans.Value, d.count())
		for i := range vs {
			vs[i] = d.value(depth + 1)
		}
		return spans.SliceValue(vs)
	case spans.KindMap:
		return spans.MapValue(d.attrs(depth + 1))
	default:
		d.fail(fmt.Sprintf("unknown value kind %d", k))
	}
	return spans.Value{}
}
