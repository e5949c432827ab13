package core

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/zkit-go/zkit/core/proto"
)

// Perm is a set of ACL permissions.
type Perm int32

// Permissions that an ACL entry grants.
const (
	PermRead   Perm = Perm(proto.PermRead)
	PermWrite  Perm = Perm(proto.PermWrite)
	PermCreate Perm = Perm(proto.PermCreate)
	PermDelete Perm = Perm(proto.PermDelete)
	PermAdmin  Perm = Perm(proto.PermAdmin)
	PermAll    Perm = Perm(proto.PermAll)
)

// ACL grants permissions to an identity: a scheme (world, auth, digest, host,
// ip, ...) and an id within it.
type ACL struct {
	Perms  Perm   // what the identity may do
	Scheme string // how the identity is known: "world", "auth", "digest", "ip", ...
	ID     string // the identity in the scheme's terms, as "anyone" for world
}

// MakeACL returns an ACL entry for scheme and id with perms.
func MakeACL(scheme, id string, perms Perm) ACL {
	return ACL{Perms: perms, Scheme: scheme, ID: id}
}

// Predefined ACL lists, as in the Java client's ZooDefs.Ids.
var (
	// OpenACLUnsafe gives everyone every permission.
	OpenACLUnsafe = []ACL{{Perms: PermAll, Scheme: "world", ID: "anyone"}}
	// CreatorAllACL gives every permission to the identities the session
	// authenticated with (the "auth" scheme).
	CreatorAllACL = []ACL{{Perms: PermAll, Scheme: "auth", ID: ""}}
	// ReadACLUnsafe lets everyone read.
	ReadACLUnsafe = []ACL{{Perms: PermRead, Scheme: "world", ID: "anyone"}}
)

// WorldACL returns one entry giving perms to everyone.
func WorldACL(perms Perm) []ACL {
	return []ACL{{Perms: perms, Scheme: "world", ID: "anyone"}}
}

// DigestACL returns one entry giving perms to user with password, for the
// digest scheme. The id is user:base64(sha1(user:password)), as the server
// computes it when the session adds digest auth "user:password".
func DigestACL(user, password string, perms Perm) []ACL {
	return []ACL{{Perms: perms, Scheme: "digest", ID: DigestID(user, password)}}
}

// DigestID computes the digest scheme's id for user and password.
func DigestID(user, password string) string {
	sum := sha1.Sum([]byte(user + ":" + password))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

func validateACL(acl []ACL) error {
	if len(acl) == 0 {
		return fmt.Errorf("%w: empty ACL list", ErrInvalidArgument)
	}
	for _, a := range acl {
		if a.Perms&^PermAll != 0 {
			return fmt.Errorf("%w: ACL permissions %#x", ErrInvalidArgument, int32(a.Perms))
		}
		if a.Scheme == "" {
			return fmt.Errorf("%w: ACL entry without a scheme", ErrInvalidArgument)
		}
		if !validACLID(a.Scheme, a.ID) {
			// It matches ErrInvalidACL too, what the server would answer.
			return fmt.Errorf("%w: %w: %s id %q", ErrInvalidArgument, ErrInvalidACL, a.Scheme, a.ID)
		}
	}
	return nil
}

// validACLID applies the server's rules to the ids of the schemes every
// server knows, so that an id it would refuse fails before it is sent.
// Other schemes come from providers a server may or may not load, and
// "auth" depends on the session's credentials: the server judges those.
func validACLID(scheme, id string) bool {
	switch scheme {
	case "world":
		return id == "anyone"
	case "ip":
		return validIPID(id)
	case "digest":
		// DigestAuthenticationProvider.isValid: Java's id.split(":"), which
		// drops trailing empty parts, must give two parts.
		parts := strings.Split(id, ":")
		for len(parts) > 0 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		return len(parts) == 2
	}
	return true
}

// validIPID is IPAuthenticationProvider.isValid: four dot-separated
// numbers from 0 to 255, then optionally "/" and a mask of 0 to 32 bits.
// The server knows no IPv6 addresses here (3.8 and 3.9 alike).
func validIPID(id string) bool {
	addr, bits, masked := strings.Cut(id, "/")
	parts := strings.Split(addr, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if !javaIntIn(p, 255) {
			return false
		}
	}
	return !masked || javaIntIn(bits, 32)
}

// javaIntIn reports whether Java's Integer.parseInt reads s as a number
// from 0 to hi. It takes a sign and leading zeros ("+010", "-0"), and, as
// Java does, the decimal digits of other scripts ("٣٣" is 33; see
// digitValue).
func javaIntIn(s string, hi int) bool {
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	if s == "" {
		return false
	}
	v := 0
	for _, r := range s {
		d, ok := digitValue(r)
		if !ok {
			return false
		}
		if v <= hi {
			v = v*10 + d
		}
	}
	return v <= hi && (!neg || v == 0)
}

// digitValue returns the value of a decimal digit as Java's parseInt reads
// it: a Unicode decimal digit (category Nd) of the Basic Multilingual
// Plane. Java reads a string a UTF-16 unit at a time, so a digit beyond
// it, written as two surrogates, is no digit there. Unicode places the
// digits in runs of ten, each from zero to nine, and unicode.Nd's ranges
// start where a run does.
func digitValue(r rune) (int, bool) {
	if r >= '0' && r <= '9' {
		return int(r - '0'), true
	}
	if r <= unicode.MaxASCII {
		return 0, false
	}
	for _, rg := range unicode.Nd.R16 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10, true
		}
	}
	return 0, false
}

func toProtoACL(acl []ACL) []proto.ACL {
	out := make([]proto.ACL, len(acl))
	for i, a := range acl {
		out[i] = proto.ACL{Perms: int32(a.Perms), Scheme: a.Scheme, ID: a.ID}
	}
	return out
}

func fromProtoACL(acl []proto.ACL) []ACL {
	out := make([]ACL, len(acl))
	for i, a := range acl {
		out[i] = ACL{Perms: Perm(a.Perms), Scheme: a.Scheme, ID: a.ID}
	}
	return out
}

// storedAs reports whether stored, a node's ACL as the server reports it,
// is what the server makes of sent in a setACL. The server does not keep
// sent as it is: it drops repeated entries, keeping the first, and puts in
// place of an "auth" entry one entry with its permissions for each
// identity the session authenticated. The client cannot tell those
// identities (a TLS certificate may give one), so any run of one or more
// entries with the "auth" entry's permissions stands for it. A caller
// without ADMIN on the node reads its digest entries with the password
// hash hidden (see readsAs).
func storedAs(stored, sent []proto.ACL) bool {
	uniq := make([]proto.ACL, 0, len(sent))
	for _, a := range sent {
		if !slices.Contains(uniq, a) {
			uniq = append(uniq, a)
		}
	}
	return matchStored(stored, uniq)
}

// readsAs reports whether got, an entry read back, is entry: as it is, or,
// for a digest entry, as the server shows it to a caller without ADMIN
// permission on the node, with everything after the user name's colon
// replaced by "x".
func readsAs(got, entry proto.ACL) bool {
	if got == entry {
		return true
	}
	user, _, ok := strings.Cut(entry.ID, ":")
	return ok && entry.Scheme == "digest" && got.Scheme == "digest" && got.Perms == entry.Perms && got.ID == user+":x"
}

func matchStored(stored, sent []proto.ACL) bool {
	if len(sent) == 0 {
		return len(stored) == 0
	}
	a := sent[0]
	if a.Scheme != "auth" {
		return len(stored) > 0 && readsAs(stored[0], a) && matchStored(stored[1:], sent[1:])
	}
	for k := 1; k <= len(stored) && stored[k-1].Perms == a.Perms; k++ {
		if matchStored(stored[k:], sent[1:]) {
			return true
		}
	}
	return false
}
