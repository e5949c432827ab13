// Package harness is the measurement code that the zkit benchmark shares with
// its peers: the job and result records exchanged with worker processes, the
// closed-loop runner, the latency histogram, and the CPU, allocation and
// memory probes.
//
// A worker process links one Driver (zkit's, or a peer library's) and calls
// Serve. Every built-in task drives the library only through the Driver, so
// zkit and its peers are measured by the same loops. The package imports the
// standard library only, so a peer module can use it without pulling in zkit.
package harness
