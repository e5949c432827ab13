package core

import (
	"context"
	"crypto/tls"
	"fmt"
	"math"
	"net"
	"time"

	"github.com/zkit-go/zkit/core/proto"
	"go.uber.org/zap"
)

// Option configures a Client.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// Dialer opens a connection to a server address ("host:port").
type Dialer func(ctx context.Context, network, address string) (net.Conn, error)

type authInfo struct {
	scheme string
	auth   []byte
}

type config struct {
	chroot         string
	chrootSet      bool // WithChroot was given: it wins over a server-list suffix
	sessionTimeout time.Duration
	readTimeout    time.Duration
	connectTimeout time.Duration
	defaultACL     []ACL
	// defaultWireACL is defaultACL as requests carry it, made once in
	// NewClient so that a create does not convert it each time.
	defaultWireACL []proto.ACL
	retry          *RetryPolicy
	allowReadOnly  bool
	logger         *zap.Logger
	auth           []authInfo
	tlsConfig      *tls.Config
	dialer         Dialer
	maxDataSize    int
	statCacheSize  int
	eventBuffer    int
	gatherReplies  bool
	ownPolling     bool
	err            error
}

func defaultConfig() config {
	return config{
		sessionTimeout: 10 * time.Second,
		defaultACL:     OpenACLUnsafe,
		retry:          RetryForever(),
		logger:         zap.NewNop(),
		maxDataSize:    0xfffff,
		statCacheSize:  10000,
		eventBuffer:    100000,
		gatherReplies:  true,
		ownPolling:     true,
	}
}

func (c *config) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// WithChroot roots every path of the client at root, which must be an
// absolute path; "/" means none. Start creates it when it is missing. It
// overrides a "/chroot" suffix of the server list. Default: no chroot (or
// that suffix).
func WithChroot(root string) Option {
	return optionFunc(func(c *config) {
		c.chrootSet = true
		if root == "/" {
			c.chroot = ""
			return
		}
		if err := validatePath(root, false); err != nil {
			c.fail(fmt.Errorf("WithChroot: %w", err))
			return
		}
		c.chroot = root
	})
}

// WithSessionTimeout asks the server for a session timeout; the server
// bounds it between 2 and 20 ticks unless configured otherwise, and each
// connection asks again, so a server with other bounds may grant the same
// session another timeout (Session.Timeout follows it). d must be
// between a millisecond and 2^31-1 milliseconds (about 24.8 days), as the
// request carries it in whole milliseconds. Default: 10 s.
//
// While it cannot reach a server, the client gives the session up itself
// nine tenths of the latest granted timeout after the server last heard from it
// (the send time of a request or ping answered, not the arrival of a watch
// event, which the server sends without hearing from the client): the
// session ends with ErrSessionExpired and the client goes to
// StateExpired. In an ensemble the leader expires sessions, and a
// follower passes what it heard on to the leader only every half tick, so
// the client counts from the newest answered request or ping that is at
// least a tenth of the timeout older than the newest one (or from the
// newest connect, which the leader hears of at once), and an idle
// connection pings at least every tenth of the timeout. That holds for
// a tickTime up to a fifth of the session timeout (ZooKeeper's default
// 2 s tick with the default 10 s session). No client timer covers a
// follower cut off from its leader that goes on answering pings: the
// leader may expire the session meanwhile; a lock's fencing token
// guards against that.
// This is on purpose: the loss is reported before the server can expire
// the session and let another client take its ephemeral nodes (a lock, a
// leadership). The server may in fact still hold the session for a while:
// the last tenth of the timeout, or a whole new timeout when a new leader
// has taken the sessions over. So once the client reaches a read-write
// server again, it ends the session it gave up there (each connection
// tries until one does), and the session's ephemeral nodes go at once
// rather than stand in the way of the new session's; Close does so too
// if none has. A read-only session that never met a read-write server is
// left to time out.
func WithSessionTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		switch {
		case d <= 0:
			c.fail(fmt.Errorf("%w: WithSessionTimeout(%v): must be positive", ErrInvalidArgument, d))
			return
		case d < time.Millisecond || d > maxSessionTimeout:
			c.fail(fmt.Errorf("%w: WithSessionTimeout(%v): must be between 1ms and %v", ErrInvalidArgument, d, maxSessionTimeout))
			return
		}
		c.sessionTimeout = d
	})
}

// maxSessionTimeout is the longest session timeout the connect request can
// carry: 2^31-1 milliseconds.
const maxSessionTimeout = math.MaxInt32 * time.Millisecond

// WithReadTimeout sets how long the connection may stay silent before it
// counts as lost; the client pings after a third of it, or a tenth of the
// session timeout if that is sooner (see WithSessionTimeout). A silent
// connection also counts as lost once it has been silent for two ping
// intervals and the client's own expiry is less than a fifth of the
// session timeout away, so that the client can resume the session on
// another server in time. The requests in flight on a connection dropped
// for its silence fail with an error that matches both ErrConnectionLoss
// and ErrTimeout, and the retry policy may resend them. Watch events do
// not break the silence: a connection that brings events but no reply to
// a request or ping for the read timeout counts as lost too. It can only make
// the read timeout shorter: once connected, the client uses the smaller of
// d and two thirds of the session timeout the server granted, so that an
// idle session is always pinged before the server expires it. d must be at
// least a millisecond. Default: two thirds of the negotiated session
// timeout.
func WithReadTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		switch {
		case d <= 0:
			c.fail(fmt.Errorf("%w: WithReadTimeout(%v): must be positive", ErrInvalidArgument, d))
			return
		case d < time.Millisecond:
			c.fail(fmt.Errorf("%w: WithReadTimeout(%v): must be at least 1ms", ErrInvalidArgument, d))
			return
		}
		c.readTimeout = d
	})
}

// WithConnectTimeout bounds one connection attempt (TCP, TLS and the session
// handshake). Default: the session timeout divided by the number of servers,
// at least one second.
func WithConnectTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d <= 0 {
			c.fail(fmt.Errorf("%w: WithConnectTimeout(%v): must be positive", ErrInvalidArgument, d))
			return
		}
		c.connectTimeout = d
	})
}

// WithDefaultACL sets the ACL of nodes created without one.
// Default: OpenACLUnsafe (world:anyone with every permission).
func WithDefaultACL(acl []ACL) Option {
	return optionFunc(func(c *config) {
		if err := validateACL(acl); err != nil {
			c.fail(fmt.Errorf("WithDefaultACL: %w", err))
			return
		}
		// A copy: the caller's slice may change after.
		c.defaultACL = append([]ACL(nil), acl...)
	})
}

// WithRetryPolicy sets the policy that retries calls failing with connection
// loss or operation timeout, when repeating them is safe (RetryPolicy lists
// the rules). A policy made from invalid arguments (a negative count, a
// duration that is not positive, a maximum below the base) is refused with
// ErrInvalidArgument.
// Default: RetryForever() (jittered backoff, bounded by each call's ctx).
func WithRetryPolicy(p *RetryPolicy) Option {
	return optionFunc(func(c *config) {
		if p == nil {
			c.fail(fmt.Errorf("%w: WithRetryPolicy(nil)", ErrInvalidArgument))
			return
		}
		if p.invalid != nil {
			c.fail(fmt.Errorf("WithRetryPolicy: %w", p.invalid))
			return
		}
		c.retry = p
	})
}

// WithGatherReplies turns the gathering of replies and requests under load
// on or off. With it on, when at least 16 requests are in flight and the
// socket holds no more replies, the reader waits a little (a quarter of
// the oldest request's wait so far, at most 1 ms) before it reads again,
// so that replies are read and handed to their callers in batches; and the
// writer, before it writes what callers queued, waits the same quarter (at
// most 0.2 ms), so that the requests those callers send next leave in one
// write. In our benchmarks under load that halved the client's CPU time
// per call or better, and throughput rose; each call may wait up to those
// quarters longer. Turn it off when a call's latency under load matters
// more than the client's CPU. The reader gathers on Linux, over plain TCP
// or Unix connections (not TLS, nor a custom dialer's); the writer on
// every connection. Default: true.
func WithGatherReplies(on bool) Option {
	return optionFunc(func(c *config) { c.gatherReplies = on })
}

// WithOwnPolling decides where a connection waits for its socket. With it
// on, a plain TCP or Unix connection on Linux (not TLS, nor a custom
// dialer's wrapper) leaves Go's network poller: its reader and writer wait
// in poll system calls of their own threads. The poller wakes one of the
// runtime's threads for every packet of a socket it watches, even while
// the client's own poll waits for it; without that wake-up a synchronous
// call cost about a third less client CPU in our benchmarks. In exchange,
// an idle client keeps one thread blocked in its poll, as the Java and C
// clients do. A connection made while GOMAXPROCS is 1 stays in the
// poller: with one proc, each wait of the reader would hand the proc to
// another thread and back, which cost more than the poller. Turn it off
// to keep every wait in the network poller. Default: true.
func WithOwnPolling(on bool) Option {
	return optionFunc(func(c *config) { c.ownPolling = on })
}

// WithAllowReadOnly lets the client connect to a server that lost its
// quorum and serves reads only, while it looks for a read-write server.
// A read-only server does not keep a session alive for the quorum: a
// session that a read-write server knows ends, as when the client reaches
// no server, nine tenths of its timeout after a read-write server last
// heard from it, and the client goes on read-only with a new session.
// A session made on a read-only server cannot be resumed on a read-write
// one: there the client moves to a new session, without an Expired state.
// The read-only session ends with ErrSessionExpired (it has no ephemeral
// nodes to lose), and the client's watches, one-shot and persistent,
// carry over to the new session, registered again from the last zxid the
// client saw. A read-only server makes new sessions only when its
// ensemble runs with localSessionsEnabled=true; without it, it refuses
// the connect request with ErrNotReadOnly.
// Default: false.
func WithAllowReadOnly(allow bool) Option {
	return optionFunc(func(c *config) { c.allowReadOnly = allow })
}

// WithLogger sets the logger. Connects, disconnects and expiries log at Info
// or Warn. At Debug every request logs "zk: call" with its op, server path,
// time to reply, zxid and error. Credentials and node data are never logged.
// Default: zap.NewNop().
func WithLogger(l *zap.Logger) Option {
	return optionFunc(func(c *config) {
		if l == nil {
			l = zap.NewNop()
		}
		c.logger = l
	})
}

// WithAuth adds credentials (for example scheme "digest" with
// "user:password"). They are sent first on every connection, so they
// survive reconnects. Default: none.
func WithAuth(scheme string, credentials []byte) Option {
	return optionFunc(func(c *config) {
		if scheme == "" {
			c.fail(fmt.Errorf("%w: WithAuth: empty scheme", ErrInvalidArgument))
			return
		}
		c.auth = append(c.auth, authInfo{scheme: scheme, auth: append([]byte(nil), credentials...)})
	})
}

// WithTLS connects over TLS with cfg. When cfg has no ServerName, the
// server's host is used. Default: plain TCP.
func WithTLS(cfg *tls.Config) Option {
	return optionFunc(func(c *config) { c.tlsConfig = cfg })
}

// WithDialer replaces the function that opens TCP connections.
// Default: a net.Dialer.
func WithDialer(d Dialer) Option {
	return optionFunc(func(c *config) { c.dialer = d })
}

// WithMaxDataSize sets the largest request the client will send, which
// should match the server's jute.maxbuffer: node data longer than n, and
// any request frame larger than n (the data with its path, ACL and
// headers, or a transaction's operations together), which the server would
// answer by closing the connection, fail with ErrDataTooLarge before they
// are sent. So the longest data a request can carry is n less the rest of
// its frame, some tens of bytes for a short path. Default: 0xfffff bytes
// (1 MiB - 1), the server's default.
func WithMaxDataSize(n int) Option {
	return optionFunc(func(c *config) {
		if n <= 0 {
			c.fail(fmt.Errorf("%w: WithMaxDataSize(%d): must be positive", ErrInvalidArgument, n))
			return
		}
		c.maxDataSize = n
	})
}

// WithStatCacheSize bounds how many paths the stat cache remembers.
// Default: 10000. The stat cache keeps the data and ACL versions of the
// newest Stat each reply carried, for the non-forced Delete, SetData and
// SetACL; a delete, or any reply that finds no node, makes a path's
// versions unknown again (a write there is then at any version). 0 turns
// it off.
func WithStatCacheSize(n int) Option {
	return optionFunc(func(c *config) {
		if n < 0 {
			c.fail(fmt.Errorf("%w: WithStatCacheSize(%d)", ErrInvalidArgument, n))
			return
		}
		c.statCacheSize = n
	})
}

// WithWatcherBuffer bounds how many events a persistent watcher holds for a
// consumer that does not keep up; past it the watcher ends with
// ErrWatcherOverflow. Default: 100000.
func WithWatcherBuffer(n int) Option {
	return optionFunc(func(c *config) {
		if n <= 0 {
			c.fail(fmt.Errorf("%w: WithWatcherBuffer(%d)", ErrInvalidArgument, n))
			return
		}
		c.eventBuffer = n
	})
}
