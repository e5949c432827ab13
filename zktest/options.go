package zktest

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

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

	// errs holds what options found wrong with their arguments, for
	// check to report: an Option has no error of its own to return.
	errs []error
}

// newConfig applies opts to the defaults and returns an error naming every
// option given a value it cannot take.
func newConfig(opts []Option) (config, error) {
	c := config{
		tickTime:     100 * time.Millisecond,
		startTimeout: 60 * time.Second,
	}
	for _, o := range opts {
		o.apply(&c)
	}
	return c, c.check()
}

// check reports the options' errors, and zoo.cfg keys given WithConfig that
// zktest must write itself, which it can tell only once every option has
// been applied: some keys are zktest's only WithTLS.
func (c *config) check() error {
	errs := c.errs
	for _, kv := range c.extraConfig {
		if why := ownedKey(kv[0], c.tls); why != "" {
			errs = append(errs, fmt.Errorf("zktest: WithConfig(%q, %q): %s", kv[0], kv[1], why))
		}
	}
	return errors.Join(errs...)
}

// ownedKey tells why WithConfig may not set key, or returns "" when it may.
// zktest writes these keys itself, and a server given other values for them
// would listen where zktest does not look, keep its data where zktest does
// not clean up, or lose its TLS port.
func ownedKey(key string, tls bool) string {
	switch key {
	case "clientPort", "clientPortAddress", "secureClientPort", "secureClientPortAddress":
		return "zktest picks the server's addresses and ports itself"
	case "dataDir", "dataLogDir":
		return "zktest keeps the server's data under its directory; see WithDir"
	case "tickTime":
		return "use WithTickTime, which also sets the session timeout bounds and sync limits"
	case "serverCnxnFactory", "ssl.keyStore.location", "ssl.keyStore.type", "ssl.trustStore.location", "ssl.trustStore.type":
		if tls {
			return "zktest sets it up for the TLS port of WithTLS"
		}
	}
	if id, ok := strings.CutPrefix(key, "server."); ok && id != "" && strings.Trim(id, "0123456789") == "" {
		return "zktest lists an ensemble's servers itself"
	}
	return ""
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

// WithTickTime sets the server's tickTime, a whole number of milliseconds,
// at least one. The minimum session timeout is two ticks and the maximum is
// 60 s. The default is 100 ms. Any other d is an error, which NewServer and
// NewEnsemble return.
func WithTickTime(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < time.Millisecond || d%time.Millisecond != 0 {
			c.errs = append(c.errs, fmt.Errorf("zktest: WithTickTime(%v): the tick time must be a whole number of milliseconds, at least 1ms", d))
			return
		}
		c.tickTime = d
	})
}

// WithStartTimeout bounds how long a start or restart waits for a server to
// serve. The default is 60 s; a context deadline, if shorter, wins. A d that
// is not positive is an error, which NewServer and NewEnsemble return.
func WithStartTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d <= 0 {
			c.errs = append(c.errs, fmt.Errorf("zktest: WithStartTimeout(%v): the start timeout must be positive", d))
			return
		}
		c.startTimeout = d
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
//
// The keys that zktest must write itself are an error, which NewServer and
// NewEnsemble return: clientPort, clientPortAddress, secureClientPort,
// secureClientPortAddress, dataDir, dataLogDir, server.N, tickTime (see
// WithTickTime) and, for a server started WithTLS, serverCnxnFactory and
// the ssl.keyStore and ssl.trustStore keys. So is a key or value that
// zoo.cfg, read as Java properties, would not take as written: a key with
// '=', ':', white space or a backslash, or starting with '#' or '!', and a
// value with a line break or a backslash.
func WithConfig(key, value string) Option {
	return optionFunc(func(c *config) {
		// zoo.cfg is read as Java properties: a key ends at '=', ':' or
		// white space, a line starting with '#' or '!' is a comment, and a
		// backslash starts an escape (at the end of a line, it goes on
		// with the next).
		badKey := key == "" || strings.ContainsAny(key, "=: \t\f\r\n\\") || strings.ContainsAny(key[:1], "#!")
		badValue := strings.ContainsAny(value, "\r\n\\")
		if badKey || badValue {
			c.errs = append(c.errs, fmt.Errorf("zktest: WithConfig(%q, %q): not a key=value line of zoo.cfg", key, value))
			return
		}
		c.extraConfig = append(c.extraConfig, [2]string{key, value})
	})
}

// WithJavaFlags appends flags, such as -Dname=value system properties, to the
// java command line after zktest's own. There are none by default.
func WithJavaFlags(flags ...string) Option {
	return optionFunc(func(c *config) { c.javaFlags = append(c.javaFlags, flags...) })
}
