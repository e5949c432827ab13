package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/zkit-go/zkit/examples/internal/exampleserver"
)

// demoTimeout bounds the whole demo, so that it never hangs.
const demoTimeout = 2 * time.Minute

func main() {
	os.Exit(mainCode())
}

// mainCode runs the demo and returns the exit code, after stopping the
// server it started.
func mainCode() int {
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	// After the first Ctrl-C the demo winds down and stops its server; a
	// second one kills it at once (the server dies with it).
	context.AfterFunc(ctx, stopSignals)
	ctx, cancel := context.WithTimeout(ctx, demoTimeout)
	defer cancel()

	srv, err := exampleserver.Start(ctx, os.Stdout)
	if err != nil {
		return fail(ctx, err)
	}
	err = run(ctx, os.Stdout, srv.ConnString())
	if srv.Local() {
		fmt.Println("Stopping the local ZooKeeper...")
	}
	if stopErr := srv.Stop(); stopErr != nil {
		err = errors.Join(err, stopErr)
	}
	if err != nil {
		return fail(ctx, err)
	}
	return 0
}

func fail(ctx context.Context, err error) int {
	if errors.Is(context.Cause(ctx), context.Canceled) {
		fmt.Fprintln(os.Stderr, "demo: interrupted")
		return 130
	}
	fmt.Fprintf(os.Stderr, "demo: FAILED: %v\n", err)
	return 1
}
