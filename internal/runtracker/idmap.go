package runtracker

import (
	"iter"

	"github.com/agentos-ai/agentos-otel/internal/spans"
)

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
		if len(m.small) == cap(m.small) {
			// Half again rather than double: an open run holds its spare room.
			grown := make([]idEntry[V], len(m.small), min(smallIDs, max(4, len(m.small)+len(m.small)/2)))
			copy(grown, m.small)
			m.small = grown
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

// recycle empties m and returns its storage for another idMap to start
// with, and whether it is worth keeping: a map past keep ids is let go, as
// maps do not shrink, and a slice short of its full size costs little to
// grow again.
func (m *idMap[V]) recycle(keep int) (idMap[V], bool) {
	old := *m
	*m = idMap[V]{}
	switch {
	case old.big != nil && len(old.big) <= keep:
		clear(old.big)
		return idMap[V]{big: old.big}, true
	case old.big == nil && cap(old.small) == smallIDs:
		clear(old.small)
		return idMap[V]{small: old.small[:0]}, true
	}
	return idMap[V]{}, false
}

// all yields every id and its value, in no particular order.
func (m *idMap[V]) all() iter.Seq2[spans.SpanID, V] {
	return func(yield func(spans.SpanID, V) bool) {
		if m.big != nil {
			for id, v := range m.big {
				if !yield(id, v) {
					return
				}
			}
			return
		}
		for _, e := range m.small {
			if !yield(e.id, e.v) {
				return
			}
		}
	}
}
