package harness

import (
	"context"
	"time"
)

// Driver adapts one client library to the benchmark.
type Driver interface {
	// Lib names the library, for example "zkit" or "go-zookeeper".
	Lib() string
	// Version is the library's version.
	Version() string
	// Connect opens a session and returns once it is established.
	Connect(ctx context.Context, servers string, sessionTimeout time.Duration) (Client, error)
}

// Client is one connected session of a library.
type Client interface {
	// Get reads a node's data (and whatever the library returns with it).
	Get(ctx context.Context, path string) ([]byte, error)
	// Set writes a node's data at any version.
	Set(ctx context.Context, path string, data []byte) error
	// CreateEphemeralSequential creates an ephemeral sequential node.
	CreateEphemeralSequential(ctx context.Context, prefix string, data []byte) (string, error)
	// Close ends the session.
	Close() error
}

// Locker is a Client whose library has a mutex recipe.
type Locker interface {
	// NewMutex returns the library's mutex on the lock directory path.
	NewMutex(path string) Mutex
}

// Mutex is a library's distributed mutex. A library whose calls take no
// context ignores ctx.
type Mutex interface {
	Lock(ctx context.Context) error
	Unlock(ctx context.Context) error
}
