package fxmodule

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zkit-go/zkit/core"
)

// ErrNoConfig reports an application that supplied no Config, or one
// without servers.
var ErrNoConfig = errors.New(`fxmodule: no ZooKeeper servers configured: supply an fxmodule.Config with Servers, for example fx.Supply(fxmodule.Config{Servers: "127.0.0.1:2181"})`)

// Config is what the application supplies (with fx.Supply or a provider of
// its own) to build the client. Zero fields keep core's defaults.
type Config struct {
	// Servers lists the ensemble as "host:port,host:port[/chroot]".
	// Required.
	Servers string
	// Chroot roots every path of the client at this absolute path, which
	// the client creates when it is missing. It overrides a "/chroot"
	// suffix of Servers. Default: none.
	Chroot string
	// SessionTimeout is the session timeout asked of the server.
	// Default: core's (10 s).
	SessionTimeout time.Duration
	// ConnectTimeout bounds one connection attempt (TCP, TLS and the
	// session handshake). Default: core's, the session timeout divided by
	// the number of servers, at least one second.
	ConnectTimeout time.Duration
	// ReadTimeout is how long the connection may stay silent before it
	// counts as lost; the client pings after a third of it (or a tenth of
	// the session timeout, if sooner), and never uses more than two thirds
	// of the negotiated session timeout. Default: core's, two thirds of
	// the negotiated session timeout.
	ReadTimeout time.Duration
	// AllowReadOnly lets the client use a server that lost its quorum for
	// reads. Default: false.
	AllowReadOnly bool
	// Options are further client options, applied after the fields above,
	// so they win over them. A logger given here wins over the
	// application's for the client's own logs; the module's two lines
	// (client started, client closed) still go to the application's.
	Options []core.Option
}

// clientOptions turns the configuration into client options; logger comes
// first so that Options may replace it.
func (c Config) clientOptions(logger core.Option) []core.Option {
	opts := []core.Option{logger}
	if c.Chroot != "" {
		opts = append(opts, core.WithChroot(c.Chroot))
	}
	if c.SessionTimeout != 0 {
		opts = append(opts, core.WithSessionTimeout(c.SessionTimeout))
	}
	if c.ConnectTimeout != 0 {
		opts = append(opts, core.WithConnectTimeout(c.ConnectTimeout))
	}
	if c.ReadTimeout != 0 {
		opts = append(opts, core.WithReadTimeout(c.ReadTimeout))
	}
	if c.AllowReadOnly {
		opts = append(opts, core.WithAllowReadOnly(true))
	}
	return append(opts, c.Options...)
}

func (c Config) validate() error {
	if strings.TrimSpace(c.Servers) == "" {
		return ErrNoConfig
	}
	for _, o := range c.Options {
		if o == nil {
			return fmt.Errorf("fxmodule: invalid Config: nil entry in Options")
		}
	}
	return nil
}
