package core

import (
	"time"

	"github.com/zkit-go/zkit/core/proto"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Per-request logging, at Debug only: which request went to which server
// path, how long its reply took, the zxid it carried and its error. Node
// data and credentials are never logged: only the opcode and the path are
// taken from the request. At any other level a call pays one level check.

// debugStart returns when a call began if Debug is on, else the zero time.
func (c *Client) debugStart() time.Time {
	if c.log.Core().Enabled(zapcore.DebugLevel) {
		return time.Now()
	}
	return time.Time{}
}

// debugCall logs a call that began at began (zero: Debug was off).
func (c *Client) debugCall(began time.Time, req proto.Request, zxid int64, err error) {
	if began.IsZero() {
		return
	}
	if ce := c.log.Check(zapcore.DebugLevel, "zk: call"); ce != nil {
		ce.Write(zap.String("op", proto.OpName(req.Opcode())), zap.String("path", requestPath(req)),
			zap.Duration("took", time.Since(began)), zap.Int64("zxid", zxid), zap.Error(err))
	}
}

// requestPath is the server path a request names, "" for none.
func requestPath(req proto.Request) string {
	switch r := req.(type) {
	case *proto.CreateRequest:
		return r.Path
	case *proto.DeleteRequest:
		return r.Path
	case *proto.PathWatchRequest:
		return r.Path
	case *proto.PathRequest:
		return r.Path
	case *proto.SetDataRequest:
		return r.Path
	case *proto.SetACLRequest:
		return r.Path
	case *proto.AddWatchRequest:
		return r.Path
	case *proto.RemoveWatchesRequest:
		return r.Path
	}
	return ""
}
