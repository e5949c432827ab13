// Package barrier is to hold processes at a common point until they may go
// on: a barrier that blocks until it is removed and a double barrier that a
// set number of members enter and leave together, in Curator's znode
// layout.
//
// It is not implemented yet: the package holds no code so far.
package barrier
