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
	} {
		assert.Equal(t, tc.want, storedAs(tc.stored, tc.sent), tc.name)
	}
}
