// Package election elects one leader among many candidates, in Curator
// LeaderLatch's znode layout.
package election
