// Package cache is to keep a local copy of a znode or a whole subtree that
// watches keep up to date, like Curator's CuratorCache.
//
// It is not implemented yet: the package holds no code so far.
package cache
