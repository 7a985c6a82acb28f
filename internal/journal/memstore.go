package journal

import (
	"context"
	"sync"
)

// MemStore is a Store in memory, for tests: it survives a Journal, not a
// process.
type MemStore struct {
	mu   sync.Mutex
	m    map[string][]byte
	fail error
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{m: map[string][]byte{}} }

// Get implements Store.
func (s *MemStore) Get(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	v, ok := s.m[key]
	if !ok {
		return nil, nil
	}
	return append([]byte(nil), v...), nil
}

// Write implements Store.
func (s *MemStore) Write(_ context.Context, ws []Write) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	for _, w := range ws {
		if w.Value == nil {
			delete(s.m, w.Key)
			continue
		}
		s.m[w.Key] = append([]byte(nil), w.Value...)
	}
	return nil
}

// Fail makes every later call return err; nil heals the store.
func (s *MemStore) Fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

// Len is the number of keys stored.
func (s *MemStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Bytes is the size of the keys and values stored.
func (s *MemStore) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for k, v := range s.m {
		n += int64(len(k) + len(v))
	}
	return n
}

// Clone returns a copy, as a crash would leave the store: what was written
// so far, and nothing written later.
func (s *MemStore) Clone() *MemStore {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := NewMemStore()
	for k, v := range s.m {
		c.m[k] = append([]byte(nil), v...)
	}
	return c
}
