package core

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestUnitStatCacheOrder(t *testing.T) {
	stat := func(mzxid int64, version, aclVersion int32) *Stat {
		return &Stat{LastModifiedZxid: mzxid, Version: version, ACLVersion: aclVersion}
	}
	t.Run("an older record never replaces a newer", func(t *testing.T) {
		s := newStatCache(10)
		s.put("/a", stat(20, 2, 0)) // a SetData's reply
		s.put("/a", stat(10, 1, 0)) // a Get answered before it, recorded after
		assert.Equal(t, int32(2), s.version("/a"))
	})
	t.Run("a SetACL is newer at the same data zxid", func(t *testing.T) {
		s := newStatCache(10)
		s.put("/a", stat(10, 1, 3))
		s.put("/a", stat(10, 1, 2))
		assert.Equal(t, int32(3), s.aclVersion("/a"))
		s.put("/a", stat(10, 1, 4))
		assert.Equal(t, int32(4), s.aclVersion("/a"))
	})
	t.Run("a delete holds off reads of the deleted node", func(t *testing.T) {
		s := newStatCache(10)
		s.put("/a", stat(10, 1, 0))
		s.forget("/a", 30)
		s.put("/a", stat(20, 2, 0)) // read before the delete, recorded after
		assert.Equal(t, int32(-1), s.version("/a"))
		assert.Equal(t, int32(-1), s.aclVersion("/a"))
		s.putNew("/a", 40, nil) // made again
		assert.Equal(t, int32(0), s.version("/a"))
	})
	t.Run("one transaction's records apply in order", func(t *testing.T) {
		s := newStatCache(10)
		s.put("/a", stat(10, 1, 0))
		s.forget("/a", 50)
		s.putNew("/a", 50, nil)
		assert.Equal(t, int32(0), s.version("/a"), "deleted and made again")
		s.put("/a", stat(60, 4, 2)) // set data, then delete, in one transaction
		s.forget("/a", 60)
		assert.Equal(t, int32(-1), s.version("/a"), "the delete comes last, whatever the ACL version")
		assert.Equal(t, int32(-1), s.aclVersion("/a"))
	})
	t.Run("a delete of an unknown path holds off a late read", func(t *testing.T) {
		s := newStatCache(10)
		s.forget("/b", 30)
		s.put("/b", stat(20, 3, 0)) // read before the delete, recorded after
		assert.Equal(t, int32(-1), s.version("/b"))
		assert.Equal(t, 1, s.len())
	})
	t.Run("a path deleted and made again keeps one slot", func(t *testing.T) {
		s := newStatCache(2)
		s.putNew("/a", 1, nil)
		s.forget("/a", 2)
		s.putNew("/a", 3, nil)
		s.putNew("/b", 4, nil)
		assert.Equal(t, int32(0), s.version("/a"), "/a was pushed out by its own old slot")
		assert.Equal(t, int32(0), s.version("/b"))
		s.putNew("/c", 5, nil) // the oldest insertion, /a, goes
		assert.Equal(t, int32(-1), s.version("/a"))
		assert.Equal(t, 2, s.len())
	})
	t.Run("the clear at a session's end keeps the deleted marks", func(t *testing.T) {
		s := newStatCache(3)
		s.putNew("/a", 1, nil)
		s.forget("/b", 30)
		s.putNew("/c", 2, nil)
		s.putNew("/d", 3, nil) // the ring is full: /d takes /a's slot
		s.clear()
		assert.Equal(t, int32(-1), s.version("/c"), "live versions go")
		assert.Equal(t, 1, s.len(), "the mark of /b stays")
		s.put("/b", stat(20, 3, 0)) // read before the delete, recorded after the clear
		assert.Equal(t, int32(-1), s.version("/b"))
		// The ring still bounds the cache, the mark the oldest in it.
		s.putNew("/e", 40, nil)
		s.putNew("/f", 41, nil)
		s.putNew("/g", 42, nil)
		assert.Equal(t, 3, s.len())
		s.put("/b", stat(20, 3, 0))
		assert.Equal(t, int32(3), s.version("/b"), "the mark, the oldest, was pushed out")
	})
}
