package core

import (
	"time"

	"github.com/zkit-go/zkit/core/proto"
)

// Stat is a znode's metadata, as the server reports it.
type Stat struct {
	// CreatedZxid is the zxid of the change that created the node.
	CreatedZxid int64
	// LastModifiedZxid is the zxid of the change that last set its data.
	LastModifiedZxid int64
	// Created is when the node was created.
	Created time.Time
	// Modified is when its data was last set.
	Modified time.Time
	// Version counts changes to its data.
	Version int32
	// ChildVersion counts changes to its children.
	ChildVersion int32
	// ACLVersion counts changes to its ACL.
	ACLVersion int32
	// EphemeralOwner is the owning session of an ephemeral node, else 0.
	EphemeralOwner int64
	// DataLength is the length of its data.
	DataLength int32
	// NumChildren is the number of its children.
	NumChildren int32
	// LastModifiedChildren is the zxid of the last change to its children.
	LastModifiedChildren int64
}

func newStat(s *proto.Stat) *Stat {
	return &Stat{
		CreatedZxid:          s.Czxid,
		LastModifiedZxid:     s.Mzxid,
		Created:              time.UnixMilli(s.Ctime),
		Modified:             time.UnixMilli(s.Mtime),
		Version:              s.Version,
		ChildVersion:         s.Cversion,
		ACLVersion:           s.Aversion,
		EphemeralOwner:       s.EphemeralOwner,
		DataLength:           s.DataLength,
		NumChildren:          s.NumChildren,
		LastModifiedChildren: s.Pzxid,
	}
}
