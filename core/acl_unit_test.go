package core

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/zkit-go/zkit/core/proto"
)

// storedAs recognises the ACL the server stores for a setACL: repeated
// entries dropped, each "auth" entry replaced by the session's identities.
func TestUnitStoredAs(t *testing.T) {
	auth := proto.ACL{Perms: proto.PermAll, Scheme: "auth"}
	alice := proto.ACL{Perms: proto.PermAll, Scheme: "digest", ID: "alice:x"}
	bob := proto.ACL{Perms: proto.PermAll, Scheme: "digest", ID: "bob:y"}
	world := proto.ACL{Perms: proto.PermRead, Scheme: "world", ID: "anyone"}
	// A caller without ADMIN reads carol's entry as hidden.
	carol := proto.ACL{Perms: proto.PermRead, Scheme: "digest", ID: "carol:aGFzaA=="}
	hidden := proto.ACL{Perms: proto.PermRead, Scheme: "digest", ID: "carol:x"}
	for _, tc := range []struct {
		name         string
		stored, sent []proto.ACL
		want         bool
	}{
		{"as sent", []proto.ACL{world}, []proto.ACL{world}, true},
		{"repeats dropped", []proto.ACL{world, alice}, []proto.ACL{world, alice, world}, true},
		{"auth as one identity", []proto.ACL{alice, world}, []proto.ACL{auth, world}, true},
		{"auth as two identities", []proto.ACL{alice, bob}, []proto.ACL{auth}, true},
		{"auth before an entry like its own", []proto.ACL{alice, bob}, []proto.ACL{auth, bob}, true},
		{"auth stands for no entry", []proto.ACL{world}, []proto.ACL{auth, world}, false},
		{"another ACL", []proto.ACL{alice}, []proto.ACL{world}, false},
		{"another order", []proto.ACL{alice, world}, []proto.ACL{world, alice}, false},
		{"an entry more", []proto.ACL{world, alice}, []proto.ACL{world}, false},
		{"digest hash hidden", []proto.ACL{hidden, world}, []proto.ACL{carol, world}, true},
		{"another user's hidden hash", []proto.ACL{{Perms: proto.PermRead, Scheme: "digest", ID: "dave:x"}}, []proto.ACL{carol}, false},
		{"hidden hash, other permissions", []proto.ACL{{Perms: proto.PermAll, Scheme: "digest", ID: "carol:x"}}, []proto.ACL{carol}, false},
		{"hidden is not for other schemes", []proto.ACL{{Perms: proto.PermRead, Scheme: "sasl", ID: "carol:x"}}, []proto.ACL{{Perms: proto.PermRead, Scheme: "sasl", ID: "carol:h"}}, false},
	} {
		assert.Equal(t, tc.want, storedAs(tc.stored, tc.sent), tc.name)
	}
}

// validateACL refuses the ids a 3.8 server refuses with InvalidACL, and
// only those: each case below was checked against one.
func TestUnitACLIDs(t *testing.T) {
	for _, tc := range []struct {
		scheme, id string
		valid      bool
	}{
		{"world", "anyone", true},
		{"world", "foo", false},
		{"world", "", false},
		{"ip", "10.0.0.1", true},
		{"ip", "010.0.0.1", true},
		{"ip", "+1.0.0.1", true},
		{"ip", "10.0.0.1/32", true},
		{"ip", "300.0.0.1", false},
		{"ip", "10.0.0", false},
		{"ip", "10.0.0.1/33", false},
		{"ip", "10.0.0.1/", false},
		{"ip", "10.0.0.0/8/1", false},
		{"ip", "::1", false},
		{"ip", "host.example", false},
		// Java reads the digits of every script in the Basic Multilingual
		// Plane, and no other.
		{"ip", "\u0661\u0660.0.0.1", true},
		{"ip", "10.0.0.1/\u0663\u0662", true},
		{"ip", "10.0.0.1/\u0663\u0663", false},
		{"ip", "\u0663\u0660\u0660.0.0.1", false},
		{"ip", "10.0.0.1/-\u0661", false},
		{"ip", "10.0.0.\U0001D7D9", false},
		{"digest", "a:b", true},
		{"digest", ":x", true},
		{"digest", "a:b:", true},
		{"digest", "alice", false},
		{"digest", "alice:", false},
		{"digest", "a:b:c", false},
		{"digest", "a::", false},
		// Judged by the server: its providers and the session's credentials.
		{"auth", "", true},
		{"sasl", "bob", true},
		{"x509", "CN=bob", true},
	} {
		err := validateACL([]ACL{MakeACL(tc.scheme, tc.id, PermAll)})
		if tc.valid {
			assert.NoError(t, err, "%s:%s", tc.scheme, tc.id)
		} else {
			assert.ErrorIs(t, err, ErrInvalidACL, "%s:%s", tc.scheme, tc.id)
			assert.ErrorIs(t, err, ErrInvalidArgument, "%s:%s", tc.scheme, tc.id)
		}
	}
}
