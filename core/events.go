package core

import (
	"fmt"

	"github.com/zkit-go/zkit/core/proto"
)

// EventType says what happened to a watched node.
type EventType int32

// Event types.
const (
	EventNodeCreated         EventType = EventType(proto.EventNodeCreated)
	EventNodeDeleted         EventType = EventType(proto.EventNodeDeleted)
	EventNodeDataChanged     EventType = EventType(proto.EventNodeDataChanged)
	EventNodeChildrenChanged EventType = EventType(proto.EventNodeChildrenChanged)
	// EventNotWatching ends a watch that will not fire: its session expired,
	// the client closed, the watch was removed, or a persistent watcher
	// overflowed. Event.Err says which.
	EventNotWatching EventType = -2
)

// String returns the event type's name in ZooKeeper's terms, as
// "NodeDataChanged".
func (t EventType) String() string {
	switch t {
	case EventNodeCreated:
		return "NodeCreated"
	case EventNodeDeleted:
		return "NodeDeleted"
	case EventNodeDataChanged:
		return "NodeDataChanged"
	case EventNodeChildrenChanged:
		return "NodeChildrenChanged"
	case EventNotWatching:
		return "NotWatching"
	}
	return fmt.Sprintf("EventType(%d)", int32(t))
}

// Event is one watch notification. Path is relative to the chroot.
type Event struct {
	Type EventType // what happened
	Path string    // the watched node it concerns, relative to the chroot
	// Err is set on EventNotWatching: ErrSessionExpired, ErrClosed,
	// ErrWatchRemoved or ErrWatcherOverflow. A persistent watcher whose
	// consumer was behind when its client closed ends with an error that
	// matches both ErrClosed and ErrWatcherOverflow and says how many
	// events were dropped.
	Err error
}

// WatcherType selects the watches RemoveWatches removes.
type WatcherType int32

// Watcher types.
const (
	WatchChildren WatcherType = WatcherType(proto.WatcherChildren)
	WatchData     WatcherType = WatcherType(proto.WatcherData)
	WatchAny      WatcherType = WatcherType(proto.WatcherAny)
)

// AddWatchMode selects a persistent watch's reach.
type AddWatchMode int32

// Persistent watch modes.
const (
	// WatchPersistent sees changes to the node's data and children.
	WatchPersistent AddWatchMode = AddWatchMode(proto.AddWatchPersistent)
	// WatchPersistentRecursive sees creates, deletes and data changes of the
	// node and every descendant.
	WatchPersistentRecursive AddWatchMode = AddWatchMode(proto.AddWatchPersistentRecursive)
)
