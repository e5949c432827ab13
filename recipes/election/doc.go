// Package election is to elect one leader among many candidates, in
// Curator LeaderLatch's znode layout.
//
// It is not implemented yet: the package holds no code so far.
package election
