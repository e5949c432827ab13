package zktest

import "time"

// An Option configures a Server or an Ensemble.
type Option interface {
	apply(*config)
}

type config struct {
	fsync        bool
	tls          bool
	tickTime     time.Duration
	startTimeout time.Duration
	dir          string
	extraConfig  [][2]string
	javaFlags    []string
}

func newConfig(opts []Option) config {
	c := config{
		tickTime:     100 * time.Millisecond,
		startTimeout: 60 * time.Second,
	}
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithFsync turns the server's forceSync on or off. The default is off, which
// makes writes much faster but not durable across a machine crash; turn it on
// for benchmarks.
func WithFsync(on bool) Option {
	return optionFunc(func(c *config) { c.fsync = on })
}

// WithTLS gives each server a second client port that speaks TLS, with a
// certificate signed by a CA generated for this server or ensemble. See
// Server.SecureAddr and Server.CACertPool. The default is no TLS port.
func WithTLS() Option {
	return optionFunc(func(c *config) { c.tls = true })
}

// WithTickTime sets the server's tickTime. The minimum session timeout is two
// ticks and the maximum is 60 s. The default is 100 ms.
func WithTickTime(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d >= time.Millisecond {
			c.tickTime = d
		}
	})
}

// WithStartTimeout bounds how long a start or restart waits for a server to
// serve. The default is 60 s; a context deadline, if shorter, wins.
func WithStartTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.startTimeout = d
		}
	})
}

// WithDir keeps the servers' configuration, data and logs under dir, which
// Close leaves in place. The default is a new temporary directory that Close
// removes (or t.TempDir() for StartServer and StartEnsemble).
func WithDir(dir string) Option {
	return optionFunc(func(c *config) { c.dir = dir })
}

// WithConfig adds key=value to every server's zoo.cfg, overriding zktest's
// value for the same key. There are no extra settings by default. A
// narrowed 4lw.commands.whitelist keeps the four-letter words zktest sends
// itself (ruok, srvr, cons and wchc), without which it cannot tell when a
// server is ready.
func WithConfig(key, value string) Option {
	return optionFunc(func(c *config) { c.extraConfig = append(c.extraConfig, [2]string{key, value}) })
}

// WithJavaFlags appends flags, such as -Dname=value system properties, to the
// java command line after zktest's own. There are none by default.
func WithJavaFlags(flags ...string) Option {
	return optionFunc(func(c *config) { c.javaFlags = append(c.javaFlags, flags...) })
}
