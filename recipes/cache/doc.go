// Package cache keeps a local copy of a znode or a whole subtree that
// watches keep up to date, like Curator's CuratorCache.
package cache
