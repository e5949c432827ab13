package exampleserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/zkit-go/zkit/core"
)

// ScratchRoot returns a new path "/<prefix>-<random hex>" for one run of an
// example to work under, typically as its client's chroot, so that runs
// against shared servers never meet.
func ScratchRoot(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "/" + prefix + "-" + hex.EncodeToString(b[:])
}

// Servers returns connString without its "/chroot" suffix, if any.
func Servers(connString string) string {
	servers, _, _ := strings.Cut(connString, "/")
	return servers
}

// DeleteTree deletes root and everything below it, with a client of its
// own, even when ctx has already ended (after a Ctrl-C, say).
func DeleteTree(ctx context.Context, connString, root string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	c, err := core.NewClient(Servers(connString))
	if err != nil {
		return fmt.Errorf("clean up %s: %w", root, err)
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		return fmt.Errorf("clean up %s: %w", root, err)
	}
	if err := c.DeleteAll(ctx, root); err != nil {
		return fmt.Errorf("clean up %s: %w", root, err)
	}
	return nil
}
