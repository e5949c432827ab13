// Package fxmodule wires zkit into an uber-go/fx application: Module
// provides a *core.Client, built from the Config the application supplies,
// that connects when the application starts and closes when it stops.
//
// The module logs through the application's *zap.Logger when there is one
// and provides no logger of its own.
package fxmodule
