package core

import "time"

// clockBase anchors the client's timestamps. They are kept as nanoseconds
// since it, read from the monotonic clock, so that setting the system
// clock moves no deadline: a session's expiry, a read timeout.
var clockBase = time.Now()

// monoNow returns the monotonic nanoseconds since clockBase.
func monoNow() int64 { return int64(time.Since(clockBase)) }

// monoTime turns a monoNow reading back into a time.Time that carries the
// monotonic clock.
func monoTime(ns int64) time.Time { return clockBase.Add(time.Duration(ns)) }

// monoSince returns the time elapsed since the monoNow reading ns.
func monoSince(ns int64) time.Duration { return time.Duration(monoNow() - ns) }
