package core

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/zkit-go/zkit/core/proto"
)

// ProtectedPrefix is the marker Curator puts before the GUID of a protected
// node's name.
const ProtectedPrefix = "_c_"

// newUUID returns a random (version 4) UUID in its 36-character form.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// NewProtectedName returns Curator's protected form of name:
// "_c_<uuid36>-<name>", and the prefix ("_c_<uuid36>-") that identifies it.
func NewProtectedName(name string) (full, prefix string) {
	prefix = ProtectedPrefix + newUUID() + "-"
	return prefix + name, prefix
}

// IsProtectedName reports whether name has Curator's protected form: longer
// than 40 characters, starting with "_c_", with "-" at index 39.
func IsProtectedName(name string) bool {
	return len(name) > 40 && strings.HasPrefix(name, ProtectedPrefix) && name[39] == '-'
}

// StripProtectedPrefix removes a protected name's "_c_<uuid36>-" prefix.
func StripProtectedPrefix(name string) string {
	if IsProtectedName(name) {
		return name[40:]
	}
	return name
}

// protectPath rewrites the last segment of a server path into protected
// form, returning the new path, its parent and the name prefix.
func protectPath(serverPath string) (path, parent, prefix string) {
	i := strings.LastIndexByte(serverPath, '/')
	parent = serverPath[:i]
	if parent == "" {
		parent = "/"
	}
	name, prefix := NewProtectedName(serverPath[i+1:])
	return serverPath[:i+1] + name, parent, prefix
}

// findProtected looks among parent's children for the node a protected
// create made: its name starts with prefix and, when ephemeral, the current
// session owns it. It returns the node's server path and Stat, or "" when
// the create did not happen. It makes the server catch up first (CatchUp):
// after a reconnect to another server, that server may not have applied
// yet a create that the lost connection carried.
func (c *Client) findProtected(ctx context.Context, parent, prefix string, ephemeral bool) (string, *Stat, error) {
	if err := c.catchUp(ctx, parent); err != nil {
		return "", nil, err
	}
	children := &proto.Children2Response{}
	_, err := c.call(ctx, &proto.PathWatchRequest{Op: proto.OpGetChildren2, Path: parent}, children, nil, false)
	if err != nil {
		if errIsNoNode(err) {
			return "", nil, nil
		}
		return "", nil, err
	}
	for _, name := range children.Children {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		p := parent + "/" + name
		if parent == "/" {
			p = "/" + name
		}
		resp := &proto.StatResponse{}
		if _, err := c.call(ctx, &proto.PathWatchRequest{Op: proto.OpExists, Path: p}, resp, nil, false); err != nil {
			if errIsNoNode(err) {
				continue
			}
			return "", nil, err
		}
		st := newStat(&resp.Stat)
		if ephemeral {
			sess := c.Session()
			if sess == nil || st.EphemeralOwner != sess.ID() {
				continue
			}
		}
		return p, st, nil
	}
	return "", nil, nil
}
