package core

import "sync"

// statCache remembers the data and ACL versions last seen for each server
// path, for non-forced Delete, SetData and SetACL. It holds at most size
// paths; when full it forgets the oldest insertion.
type statCache struct {
	mu    sync.Mutex
	size  int
	items map[string]cachedVersions
	order []string
}

type cachedVersions struct {
	version    int32
	aclVersion int32
}

func newStatCache(size int) *statCache {
	return &statCache{size: size, items: make(map[string]cachedVersions)}
}

func (s *statCache) put(path string, st *Stat) {
	if s.size == 0 || st == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.items[path]; !ok {
		for len(s.items) >= s.size && len(s.order) > 0 {
			delete(s.items, s.order[0])
			s.order = s.order[1:]
		}
		s.order = append(s.order, path)
	}
	s.items[path] = cachedVersions{version: st.Version, aclVersion: st.ACLVersion}
	if len(s.order) > 2*s.size {
		s.compact()
	}
}

// compact drops order entries whose paths were already forgotten.
func (s *statCache) compact() {
	kept := s.order[:0]
	seen := make(map[string]bool, len(s.items))
	for _, p := range s.order {
		if _, ok := s.items[p]; ok && !seen[p] {
			seen[p] = true
			kept = append(kept, p)
		}
	}
	s.order = append([]string(nil), kept...)
}

// version returns the cached data version, or -1 (any) when unknown.
func (s *statCache) version(path string) int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.items[path]; ok {
		return v.version
	}
	return -1
}

// aclVersion returns the cached ACL version, or -1 (any) when unknown.
func (s *statCache) aclVersion(path string) int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.items[path]; ok {
		return v.aclVersion
	}
	return -1
}

func (s *statCache) forget(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.items, path)
}

func (s *statCache) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = make(map[string]cachedVersions)
	s.order = nil
}

func (s *statCache) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}
