package core

import "context"

// sessionKey marks a context with the Session its calls are tied to.
type sessionKey struct{}

// WithSession returns a copy of ctx that ties the client's calls made with
// it to sess: as soon as sess ends, a call stops waiting (for a connection,
// for its reply, or between retries) and fails with the session's error,
// ErrSessionExpired or ErrClosed. A call started after sess ended fails at
// once. Work bound to one session, such as a lock's, uses it so that a
// call does not outlive the session by waiting for the next one.
//
// Unlike Bind it costs one small allocation and registers nothing, but
// only this package's calls notice the session's end: the returned
// context's Done is ctx's. WithSession(ctx, nil) unties ctx.
func WithSession(ctx context.Context, sess *Session) context.Context {
	return context.WithValue(ctx, sessionKey{}, sess)
}

// tiedSession returns the session ctx is tied to (WithSession), or nil.
func tiedSession(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionKey{}).(*Session)
	return s
}

// sessionEnded returns the Done channel of s, the session a call is tied
// to, or nil, which never fires in a select.
func sessionEnded(s *Session) <-chan struct{} {
	if s == nil {
		return nil
	}
	return s.Done()
}

// stopped reports why a call made with ctx must stop: ctx's error, or the
// error of the session ctx is tied to once it has ended; nil otherwise.
func stopped(ctx context.Context) error {
	return stoppedBy(ctx, tiedSession(ctx))
}

// stoppedBy is stopped for a call whose tied session, tied (or nil), the
// caller has looked up already.
func stoppedBy(ctx context.Context, tied *Session) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if tied != nil {
		return tied.Err()
	}
	return nil
}

// sessionMismatch returns the error for a call tied to tied (or nil), a
// session other than the one cn serves, or nil: the tied session has
// ended, or is ending, as the client moved on to another.
func sessionMismatch(tied *Session, cn *conn) error {
	if tied == nil || tied == cn.sess {
		return nil
	}
	if err := tied.Err(); err != nil {
		return err
	}
	return ErrSessionExpired
}
