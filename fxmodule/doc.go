// Package fxmodule wires zkit into an uber-go/fx application: Module
// provides a *core.Client, built from the Config the application supplies,
// that connects when the application starts and closes when it stops, and
// a *Locks that makes the lock recipes (mutex, read/write lock, semaphore)
// on that client.
//
// The module logs through the application's *zap.Logger when there is one
// and provides no logger of its own.
package fxmodule
