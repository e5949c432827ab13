// Package proto encodes and decodes ZooKeeper's jute wire records without
// reflection; it knows nothing about sockets or sessions.
//
// Encoders append to a caller's buffer. Decoders read through a bounds-checked
// cursor that records the first error and never panics, whatever the input.
package proto
