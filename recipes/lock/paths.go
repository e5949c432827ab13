package lock

import (
	"context"
	"strings"
	"time"

	"github.com/zkit-go/zkit/core"
)

// joinPath returns the path of child name under dir.
func joinPath(dir, name string) string {
	if strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + "/" + name
}

// baseName returns the last segment of path.
func baseName(path string) string {
	return path[strings.LastIndexByte(path, '/')+1:]
}

// Pauses between attempts of a request that failed transiently.
const (
	minPause = 50 * time.Millisecond
	maxPause = time.Second
)

// sleepCtx waits d, or less if ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// cleanupContext returns a context for taking a node out of a queue after
// the caller's ctx may have ended: it keeps ctx's values, not its
// cancellation, and ends after the session timeout, by when a session cut
// off from every server has expired and taken its nodes along.
func cleanupContext(ctx context.Context, sess *core.Session) (context.Context, context.CancelFunc) {
	d := 2 * time.Second
	if sess != nil && sess.Timeout() > d {
		d = sess.Timeout()
	}
	return context.WithTimeout(context.WithoutCancel(ctx), d)
}

// currentSession returns the client's live session, waiting for one when
// there is none.
func currentSession(ctx context.Context, c *core.Client) (*core.Session, error) {
	if s := c.Session(); s != nil && s.Err() == nil {
		return s, nil
	}
	return c.WaitSession(ctx)
}
