package core

import (
	"errors"
	"sync"
)

// statCache remembers the data and ACL versions last seen for each server
// path, for non-forced Delete, SetData and SetACL. It holds at most size
// paths; when full it forgets the oldest insertion. A ring of the inserted
// paths bounds it: every cached path has a slot, and a new path takes the
// oldest slot.
//
// Callers record what their replies said in their own goroutines, so the
// records of two calls on one path can arrive in either order. Each record
// carries when the state it saw was made (cacheStamp), and an older one
// never replaces a newer: a Get answered before a SetData cannot put back
// the version the SetData moved past.
type statCache struct {
	mu    sync.Mutex
	size  int
	items map[string]cachedVersions
	ring  []string
	next  int
}

type cachedVersions struct {
	stamp      cacheStamp
	version    int32
	aclVersion int32
	created    int64 // the node's creation zxid, which tells it from a later node at its path
	gone       bool  // deleted: the versions are unknown
}

// cacheStamp orders the states of one path: the zxid that last changed its
// data (a new node's creation, which is later than anything of an earlier
// node at that path), then its ACL version, which a SetACL raises without
// a new data zxid.
type cacheStamp struct {
	zxid       int64
	aclVersion int32
}

func (a cacheStamp) before(b cacheStamp) bool {
	return a.zxid < b.zxid || a.zxid == b.zxid && a.aclVersion < b.aclVersion
}

// olderThan reports whether v records an earlier state than old. A delete
// is ordered by its zxid alone: within one zxid (a transaction's) the
// records come in the order of its operations, and the later one wins.
func (v cachedVersions) olderThan(old cachedVersions) bool {
	if v.gone || old.gone {
		return v.stamp.zxid < old.stamp.zxid
	}
	return v.stamp.before(old.stamp)
}

func statStamp(st *Stat) cacheStamp {
	return cacheStamp{zxid: st.LastModifiedZxid, aclVersion: st.ACLVersion}
}

func newStatCache(size int) *statCache {
	return &statCache{size: size, items: make(map[string]cachedVersions)}
}

// put records the versions in st, a Stat of path a reply carried.
func (s *statCache) put(path string, st *Stat) {
	if st != nil {
		s.record(path, cachedVersions{stamp: statStamp(st), version: st.Version, aclVersion: st.ACLVersion, created: st.CreatedZxid})
	}
}

// putNew records a node this client has just created, in the reply at
// zxid, from its Stat when the reply carried one. A plain create's reply
// does not; a new node is at data and ACL version 0, and zxid made it.
func (s *statCache) putNew(path string, zxid int64, st *Stat) {
	if st == nil {
		s.record(path, cachedVersions{stamp: cacheStamp{zxid: zxid}, created: zxid})
		return
	}
	s.put(path, st)
}

// forget records that path was deleted, in the reply at zxid. The mark
// holds a slot like any record, also for a path not cached before, so that
// a read answered before the delete and recorded after it cannot bring the
// deleted node's versions back.
func (s *statCache) forget(path string, zxid int64) {
	s.record(path, cachedVersions{stamp: cacheStamp{zxid: zxid}, gone: true})
}

// forgetIfMissing is forgetMissing when err is the server's ErrNoNode.
func (s *statCache) forgetIfMissing(path string, zxid int64, err error) {
	if errors.Is(err, ErrNoNode) {
		s.forgetMissing(path, zxid)
	}
}

// forgetMissing records that a reply at zxid found no node at path: the
// versions cached are of a node gone since, and a later node there may
// share them by chance. The zxid of such a reply is the server's state
// when it answered, at or after the delete; a reply that bore none (0)
// orders nothing and changes nothing.
func (s *statCache) forgetMissing(path string, zxid int64) {
	if zxid > 0 {
		s.forget(path, zxid)
	}
}

func (s *statCache) record(path string, v cachedVersions) {
	if s.size == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.items[path]
	switch {
	case ok && v.olderThan(old):
		return // a later state is in already
	case !ok && len(s.ring) < s.size:
		s.ring = append(s.ring, path)
	case !ok:
		delete(s.items, s.ring[s.next])
		s.ring[s.next] = path
		s.next = (s.next + 1) % s.size
	}
	s.items[path] = v
}

// version returns the cached data version, or -1 (any) when unknown.
func (s *statCache) version(path string) int32 {
	v, _ := s.node(path)
	return v
}

// node returns the cached data version and creation zxid of the node at
// path: -1 (any) and 0 when unknown.
func (s *statCache) node(path string) (version int32, created int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.items[path]; ok && !v.gone {
		return v.version, v.created
	}
	return -1, 0
}

// aclVersion returns the cached ACL version, or -1 (any) when unknown.
func (s *statCache) aclVersion(path string) int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.items[path]; ok && !v.gone {
		return v.aclVersion
	}
	return -1
}

// clear forgets every version cached, when the session ends: the nodes
// of the ended session are gone, and a later node at one of their paths
// may share its versions by chance. Deleted marks stay, so that a read
// answered before a delete and recorded after the clear still cannot
// bring the deleted node's versions back.
func (s *statCache) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	var marks []string // oldest first, as the ring would have replaced them
	for i := range s.ring {
		path := s.ring[(s.next+i)%len(s.ring)]
		if s.items[path].gone {
			marks = append(marks, path)
		} else {
			delete(s.items, path)
		}
	}
	s.ring, s.next = marks, 0
}

func (s *statCache) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}
