package runtracker

import "github.com/agentos-ai/agentos-otel/internal/spans"

// smallIDs is how many ids an idMap keeps in a slice before it builds a
// map: most traces have a few spans, and comparing a few eight-byte ids in
// order costs less than hashing them and allocating a map.
const smallIDs = 16

// idMap maps span ids to values. The zero idMap is empty and ready.
type idMap[V any] struct {
	small []idEntry[V]
	big   map[spans.SpanID]V
}

type idEntry[V any] struct {
	id spans.SpanID
	v  V
}

func (m *idMap[V]) len() int {
	if m.big != nil {
		return len(m.big)
	}
	return len(m.small)
}

func (m *idMap[V]) get(id spans.SpanID) (V, bool) {
	if m.big != nil {
		v, ok := m.big[id]
		return v, ok
	}
	for i := range m.small {
		if m.small[i].id == id {
			return m.small[i].v, true
		}
	}
	var zero V
	return zero, false
}

func (m *idMap[V]) has(id spans.SpanID) bool {
	_, ok := m.get(id)
	return ok
}

func (m *idMap[V]) set(id spans.SpanID, v V) {
	if m.big != nil {
		m.big[id] = v
		return
	}
	for i := range m.small {
		if m.small[i].id == id {
			m.small[i].v = v
			return
		}
	}
	if len(m.small) < smallIDs {
		if m.small == nil {
			m.small = make([]idEntry[V], 0, 4)
		}
		m.small = append(m.small, idEntry[V]{id: id, v: v})
		return
	}
	m.big = make(map[spans.SpanID]V, 2*smallIDs)
	for _, e := range m.small {
		m.big[e.id] = e.v
	}
	m.small = nil
	m.big[id] = v
}

func (m *idMap[V]) delete(id spans.SpanID) {
	if m.big != nil {
		delete(m.big, id)
		return
	}
	for i := range m.small {
		if m.small[i].id == id {
			last := len(m.small) - 1
			m.small[i] = m.small[last]
			m.small[last] = idEntry[V]{}
			m.small = m.small[:last]
			return
		}
	}
}
