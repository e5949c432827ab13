package core

import "sync"

// statCache remembers the data and ACL versions last seen for each server
// path, for non-forced Delete, SetData and SetACL. It holds at most size
// paths; when full it forgets the oldest insertion. A ring of the inserted
// paths bounds it: every cached path has a slot, and a new path takes the
// oldest slot.
type statCache struct {
	mu    sync.Mutex
	size  int
	items map[string]cachedVersions
	ring  []string
	next  int
}

type cachedVersions struct {
	version    int32
	aclVersion int32
}

func newStatCache(size int) *statCache {
	return &statCache{size: size, items: make(map[string]cachedVersions)}
}

func (s *statCache) put(path string, st *Stat) {
	if st != nil {
		s.putVersions(path, st.Version, st.ACLVersion)
	}
}

// putNew records a node this client has just created, from its Stat when
// the reply carried one. A plain create's reply does not, and a new node
// is at data and ACL version 0.
func (s *statCache) putNew(path string, st *Stat) {
	if st == nil {
		s.putVersions(path, 0, 0)
		return
	}
	s.put(path, st)
}

func (s *statCache) putVersions(path string, version, aclVersion int32) {
	if s.size == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.items[path]; !ok {
		if len(s.ring) < s.size {
			s.ring = append(s.ring, path)
		} else {
			delete(s.items, s.ring[s.next])
			s.ring[s.next] = path
			s.next = (s.next + 1) % s.size
		}
	}
	s.items[path] = cachedVersions{version: version, aclVersion: aclVersion}
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
	s.ring, s.next = nil, 0
}

func (s *statCache) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}
