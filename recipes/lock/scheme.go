package lock

import (
	"crypto/rand"
	"encoding/hex"
	"strings"

	"github.com/zkit-go/zkit/core"
)

// Markers of the nodes a lock recognises as contenders. A mutex honours
// Curator's and go-zookeeper's "lock-" and kazoo's "__lock__"; a
// read/write lock honours Curator's and kazoo's reader and writer names.
// Honouring more names than one creates is always safe: it can only make a
// contender wait for a node that another library made.
var (
	mutexMarkers = []marker{{"lock-", exclusive}, {"__lock__", exclusive}}
	rwMarkers    = []marker{
		{"__WRIT__", writer}, {"__READ__", reader},
		{"__lock__", writer}, {"__rlock__", reader},
	}
	leaseMarkers = []marker{{"lease-", exclusive}}
)

// scheme is how one kind of contender names its node and which earlier
// contenders it waits for.
type scheme struct {
	name    string // the marker in the node's own name
	role    role
	kazoo   bool // kazoo's "<hex32><name>" instead of "_c_<uuid>-<name>"
	markers []marker
}

func mutexScheme(kazoo bool) *scheme {
	s := &scheme{name: "lock-", role: exclusive, markers: mutexMarkers}
	if kazoo {
		s.name, s.kazoo = "__lock__", true
	}
	return s
}

func readScheme(kazoo bool) *scheme {
	s := &scheme{name: "__READ__", role: reader, markers: rwMarkers}
	if kazoo {
		s.name, s.kazoo = "__rlock__", true
	}
	return s
}

func writeScheme(kazoo bool) *scheme {
	s := &scheme{name: "__WRIT__", role: writer, markers: rwMarkers}
	if kazoo {
		s.name, s.kazoo = "__lock__", true
	}
	return s
}

func leaseScheme() *scheme {
	return &scheme{name: "lease-", role: exclusive, markers: leaseMarkers}
}

// blockedBy reports whether an earlier contender in role other keeps this
// one waiting: a reader waits only for writers, anyone else for everyone.
func (s *scheme) blockedBy(other role) bool {
	if s.role == reader {
		return other != reader
	}
	return true
}

// newName returns the name to create (the server appends the sequence
// number) and the prefix that identifies it among its siblings: Curator's
// "_c_<uuid>-" or kazoo's "<hex32>".
func (s *scheme) newName() (name, prefix string) {
	if !s.kazoo {
		return core.NewProtectedName(s.name)
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	prefix = hex.EncodeToString(b[:])
	return prefix + s.name, prefix
}

// findPrefixed returns the child whose name starts with prefix, or "".
func findPrefixed(children []string, prefix string) string {
	for _, c := range children {
		if strings.HasPrefix(c, prefix) {
			return c
		}
	}
	return ""
}
