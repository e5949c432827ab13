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

func main() {
	os.Exit(mainCode())
}

func mainCode() int {
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	context.AfterFunc(ctx, stopSignals) // a second Ctrl-C kills at once
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	srv, err := exampleserver.Start(ctx, os.Stdout)
	if err != nil && errors.Is(context.Cause(ctx), context.Canceled) {
		fmt.Fprintln(os.Stderr, "lock: interrupted")
		return 130
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "lock: %v\n", err)
		return 1
	}
	err = run(ctx, os.Stdout, srv.ConnString())
	if stopErr := srv.Stop(); stopErr != nil {
		err = errors.Join(err, stopErr)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(context.Cause(ctx), context.Canceled):
		fmt.Fprintln(os.Stderr, "lock: interrupted")
		return 130
	default:
		fmt.Fprintf(os.Stderr, "lock: FAILED: %v\n", err)
		return 1
	}
}
