package spans

import "unsafe"

// Sizes of the fixed parts, so that estimates follow the structs.
var (
	spanSize  = int(unsafe.Sizeof(Span{}))
	attrSize  = int(unsafe.Sizeof(Attr{}))
	eventSize = int(unsafe.Sizeof(Event{}))
	valueSize = int(unsafe.Sizeof(Value{}))
)

// Size estimates the bytes a span holds, for memory bounds: its struct,
// strings, attributes and events (log records included). The shared Resource is not counted.
func (s *Span) Size() int {
	n := spanSize + len(s.Name) + len(s.StatusMessage) + attrsSize(s.Attrs)
	for i := range s.Events {
		n += eventSize + len(s.Events[i].Name) + attrsSize(s.Events[i].Attrs)
	}
	return n
}

func attrsSize(attrs []Attr) int {
	n := 0
	for i := range attrs {
		n += attrSize + len(attrs[i].Key) + attrs[i].Value.extraSize()
	}
	return n
}

// extraSize is what a Value holds beyond its own struct.
func (v Value) extraSize() int {
	switch v.kind {
	case KindSlice:
		vs := v.Slice()
		n := len(vs) * valueSize
		for _, e := range vs {
			n += e.extraSize()
		}
		return n
	case KindMap:
		return attrsSize(v.Map())
	}
	return len(v.str)
}
