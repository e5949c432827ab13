package main

import (
	"path/filepath"
	"strconv"
	"time"
)

// How an idle CPU waits changes the results on a shared machine. A client
// that waits in the kernel between batches leaves its CPU idle; when the
// server's next thread hand-off lands there, the CPU must wake first. A
// virtual machine whose idle CPUs halt at once (the haltpoll driver with
// guest_halt_poll_ns 0) pays a trip through the hypervisor for every such
// wake-up, and a frugal client loses throughput to a busier one
// (bench/RESULTS.md, "Idle CPUs and the wire target").

// sysDir is where cpuIdle reads the kernel's settings; tests point it
// elsewhere.
var sysDir = "/sys"

// cpuIdle describes the CPUs' idle driver and, for haltpoll, how long an
// idle CPU polls before it halts: "haltpoll, polls 0s before halting".
// Empty where the kernel does not tell (not Linux, or no cpuidle).
func cpuIdle() string {
	read := func(path string) string { return fileText(filepath.Join(sysDir, path)) }
	driver := read("devices/system/cpu/cpuidle/current_driver")
	if driver == "" || driver == "none" {
		return ""
	}
	if driver != "haltpoll" {
		return driver
	}
	ns, err := strconv.ParseInt(read("module/haltpoll/parameters/guest_halt_poll_ns"), 10, 64)
	if err != nil {
		return driver
	}
	return driver + ", polls " + time.Duration(ns).String() + " before halting"
}
