package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// cpuSplit gives the local server and the client processes CPUs of their
// own, so that neither waits for the other's threads to leave a CPU: on a
// small machine that sharing, not the libraries, decides much of a run.
type cpuSplit struct {
	server, clients []int
}

// splitCPUs gives the clients the first half of cpus and the server the
// rest.
func splitCPUs(cpus []int) (cpuSplit, error) {
	if len(cpus) < 2 {
		return cpuSplit{}, fmt.Errorf("--pin needs at least 2 CPUs, the process may use %d", len(cpus))
	}
	half := len(cpus) / 2
	return cpuSplit{clients: cpus[:half], server: cpus[half:]}, nil
}

func (s cpuSplit) String() string {
	return "server on " + cpuList(s.server) + ", clients on " + cpuList(s.clients)
}

func cpuList(cpus []int) string {
	names := make([]string, len(cpus))
	for i, c := range cpus {
		names[i] = strconv.Itoa(c)
	}
	word := "CPU "
	if len(cpus) > 1 {
		word = "CPUs "
	}
	return word + strings.Join(names, ",")
}

// startPinned starts the servers as startServers does. With --pin it starts
// them on the server's CPUs and then moves this process, and so every
// worker it starts later, to the clients' CPUs.
func startPinned(ctx context.Context, cfg *Config, setup *Setup, progress func(string, ...any)) (*servers, error) {
	if !cfg.Pin {
		return startServers(ctx, cfg, progress)
	}
	cpus, err := allowedCPUs()
	if err != nil {
		return nil, err
	}
	split, err := splitCPUs(cpus)
	if err != nil {
		return nil, err
	}
	if err := pinProcess(split.server); err != nil {
		return nil, err
	}
	srv, err := startServers(ctx, cfg, progress)
	if err != nil {
		return nil, err
	}
	if err := pinProcess(split.clients); err != nil {
		return nil, errors.Join(err, srv.close())
	}
	setup.Pinning = split.String()
	progress("pinned: %s", setup.Pinning)
	return srv, nil
}
