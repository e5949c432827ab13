package core

import (
	"errors"
	"fmt"
	"net"
	"strconv"
)

// Code is a ZooKeeper error code, as the server sends it.
type Code int32

// Server error codes (KeeperException.Code in the Java client).
const (
	CodeOK                       Code = 0
	CodeSystemError              Code = -1
	CodeRuntimeInconsistency     Code = -2
	CodeDataInconsistency        Code = -3
	CodeConnectionLoss           Code = -4
	CodeMarshallingError         Code = -5
	CodeUnimplemented            Code = -6
	CodeOperationTimeout         Code = -7
	CodeBadArguments             Code = -8
	CodeUnknownSession           Code = -12
	CodeNewConfigNoQuorum        Code = -13
	CodeReconfigInProcess        Code = -14 // aiozk's name; the Java client's ReconfigInProgress
	CodeAPIError                 Code = -100
	CodeNoNode                   Code = -101
	CodeNoAuth                   Code = -102
	CodeBadVersion               Code = -103
	CodeNoChildrenForEphemerals  Code = -108
	CodeNodeExists               Code = -110
	CodeNotEmpty                 Code = -111
	CodeSessionExpired           Code = -112
	CodeInvalidCallback          Code = -113
	CodeInvalidACL               Code = -114
	CodeAuthFailed               Code = -115
	CodeSessionMoved             Code = -118
	CodeNotReadOnly              Code = -119
	CodeEphemeralOnLocalSession  Code = -120
	CodeNoWatcher                Code = -121
	CodeRequestTimeout           Code = -122
	CodeReconfigDisabled         Code = -123
	CodeSessionClosedRequireSASL Code = -124
	CodeQuotaExceeded            Code = -125
	CodeThrottled                Code = -127
)

var codeNames = map[Code]string{
	CodeOK:                       "ok",
	CodeSystemError:              "system error",
	CodeRuntimeInconsistency:     "runtime inconsistency",
	CodeDataInconsistency:        "data inconsistency",
	CodeConnectionLoss:           "connection loss",
	CodeMarshallingError:         "marshalling error",
	CodeUnimplemented:            "unimplemented",
	CodeOperationTimeout:         "operation timeout",
	CodeBadArguments:             "bad arguments",
	CodeUnknownSession:           "unknown session",
	CodeNewConfigNoQuorum:        "new config has no quorum",
	CodeReconfigInProcess:        "reconfig in process",
	CodeAPIError:                 "api error",
	CodeNoNode:                   "node does not exist",
	CodeNoAuth:                   "not authorized",
	CodeBadVersion:               "bad version",
	CodeNoChildrenForEphemerals:  "ephemeral nodes cannot have children",
	CodeNodeExists:               "node already exists",
	CodeNotEmpty:                 "node has children",
	CodeSessionExpired:           "session expired",
	CodeInvalidCallback:          "invalid callback",
	CodeInvalidACL:               "invalid ACL",
	CodeAuthFailed:               "authentication failed",
	CodeSessionMoved:             "session moved to another server",
	CodeNotReadOnly:              "not a read-only call",
	CodeEphemeralOnLocalSession:  "ephemeral node on a local session",
	CodeNoWatcher:                "no such watcher",
	CodeRequestTimeout:           "request timeout",
	CodeReconfigDisabled:         "reconfig disabled",
	CodeSessionClosedRequireSASL: "session closed: SASL auth required",
	CodeQuotaExceeded:            "quota exceeded",
	CodeThrottled:                "request throttled",
}

// String names the code.
func (c Code) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("unknown error code %d", int32(c))
}

// Error is a ZooKeeper error: a code, the operation and the path it concerns.
// It matches the sentinel of its code with errors.Is, and ErrUnknown when the
// code is not one zkit knows.
type Error struct {
	Code Code   // the server's error code
	Op   string // the operation, as "create" or "getChildren"; "" for a sentinel
	Path string // the path the caller gave, relative to the chroot; "" for none

	// cause is why the client lost the connection, for a connection loss
	// that has one to tell (ErrTimeout): Unwrap returns it.
	cause error
}

// Error reads "zk: op path: code", followed by the cause in parentheses
// when the error has one.
func (e *Error) Error() string {
	var s string
	switch {
	case e.Op == "":
		s = "zk: " + e.Code.String()
	case e.Path == "":
		s = fmt.Sprintf("zk: %s: %s", e.Op, e.Code)
	default:
		s = fmt.Sprintf("zk: %s %s: %s", e.Op, e.Path, e.Code)
	}
	if e.cause != nil {
		s += " (" + e.cause.Error() + ")"
	}
	return s
}

// Unwrap returns the cause of a connection loss that has one: ErrTimeout,
// when the client dropped the connection because the server answered
// nothing in time. It returns nil for any other error.
func (e *Error) Unwrap() error { return e.cause }

// connectionLoss is the error of a request in flight on a connection that
// failed with cause. It carries a timeout as its cause, so that such a
// request matches ErrTimeout as well as ErrConnectionLoss; other causes
// (a closed socket, a frame that could not be read) stay in the log, and
// a request does not match their errors, which concern the connection.
func connectionLoss(cause error) *Error {
	if errors.Is(cause, ErrTimeout) {
		return &Error{Code: CodeConnectionLoss, cause: cause}
	}
	return &Error{Code: CodeConnectionLoss}
}

// Is matches a sentinel *Error by code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	if t == ErrUnknown {
		_, known := codeNames[e.Code]
		return !known
	}
	return t.Op == "" && t.Code == e.Code
}

func sentinel(c Code) *Error { return &Error{Code: c} }

// Sentinels for server error codes. Match them with errors.Is.
var (
	ErrSystemError              = sentinel(CodeSystemError)
	ErrRuntimeInconsistency     = sentinel(CodeRuntimeInconsistency)
	ErrDataInconsistency        = sentinel(CodeDataInconsistency)
	ErrConnectionLoss           = sentinel(CodeConnectionLoss)
	ErrMarshallingError         = sentinel(CodeMarshallingError)
	ErrUnimplemented            = sentinel(CodeUnimplemented)
	ErrOperationTimeout         = sentinel(CodeOperationTimeout)
	ErrBadArguments             = sentinel(CodeBadArguments)
	ErrUnknownSession           = sentinel(CodeUnknownSession)
	ErrNewConfigNoQuorum        = sentinel(CodeNewConfigNoQuorum)
	ErrReconfigInProcess        = sentinel(CodeReconfigInProcess)
	ErrAPIError                 = sentinel(CodeAPIError)
	ErrNoNode                   = sentinel(CodeNoNode)
	ErrNoAuth                   = sentinel(CodeNoAuth)
	ErrBadVersion               = sentinel(CodeBadVersion)
	ErrNoChildrenForEphemerals  = sentinel(CodeNoChildrenForEphemerals)
	ErrNodeExists               = sentinel(CodeNodeExists)
	ErrNotEmpty                 = sentinel(CodeNotEmpty)
	ErrSessionExpired           = sentinel(CodeSessionExpired)
	ErrInvalidCallback          = sentinel(CodeInvalidCallback)
	ErrInvalidACL               = sentinel(CodeInvalidACL)
	ErrAuthFailed               = sentinel(CodeAuthFailed)
	ErrSessionMoved             = sentinel(CodeSessionMoved)
	ErrNotReadOnly              = sentinel(CodeNotReadOnly)
	ErrEphemeralOnLocalSession  = sentinel(CodeEphemeralOnLocalSession)
	ErrNoWatcher                = sentinel(CodeNoWatcher)
	ErrRequestTimeout           = sentinel(CodeRequestTimeout)
	ErrReconfigDisabled         = sentinel(CodeReconfigDisabled)
	ErrSessionClosedRequireSASL = sentinel(CodeSessionClosedRequireSASL)
	ErrQuotaExceeded            = sentinel(CodeQuotaExceeded)
	ErrThrottled                = sentinel(CodeThrottled)

	// ErrUnknown matches any *Error whose code zkit does not know.
	ErrUnknown = &Error{Code: -1 << 30}
)

// Client-side errors.
var (
	// ErrNoServers reports an empty or unusable server list.
	ErrNoServers = errors.New("zk: no servers to connect to")
	// ErrFailedRetry wraps the last error when a retry policy runs out.
	ErrFailedRetry = errors.New("zk: retry budget exhausted")
	// ErrInvalidClientState reports a call the client's state does not allow,
	// such as Start twice.
	ErrInvalidClientState = errors.New("zk: invalid client state")
	// ErrInvalidStateTransition is never returned. It exists for parity with
	// aiozk's InvalidStateTransition, which aiozk's session state machine
	// raises on a transition it does not allow; zkit's client makes only
	// the transitions listed with State and reports them to state
	// listeners, so no call can fail this way.
	ErrInvalidStateTransition = errors.New("zk: invalid state transition")
	// ErrSessionLost is never returned. It exists for parity with aiozk's
	// SessionLost. When a session ends, zkit reports ErrSessionExpired
	// instead (ErrClosed when Close ended it): from Session.Err, as the
	// cause of contexts made with Session.Bind, and to the session's
	// watches.
	ErrSessionLost = errors.New("zk: session lost")
	// ErrTimeout reports that the client dropped a connection for the
	// server's silence: no reply to a request or ping within the read
	// timeout, or for two ping intervals with the client's own session
	// expiry near, or the client's own expiry come although replies still
	// arrive (from a slow or read-only server; see WithReadTimeout). A
	// request in flight on that connection fails with an *Error that
	// matches both ErrConnectionLoss and ErrTimeout; the retry policy may
	// resend it like any connection loss.
	ErrTimeout = errors.New("zk: timed out")
	// ErrOutcomeUnknown reports a Set, SetData or SetACL whose attempt was
	// lost in flight, and whose retry found the node in a state that does
	// not tell whether that attempt was applied: a later version, a node
	// made since (perhaps in place of the one written), no node, or a read
	// back refused for lack of permission. A retry of a write at a version
	// looks before it sends the write again, so that it does not write to
	// a node made since (unless it may not read the node). It matches
	// ErrConnectionLoss too, as a loss of unknown outcome does,
	// and never ErrBadVersion: a caller that reads again and retries on
	// ErrBadVersion would apply its change twice. No retry policy repeats
	// it.
	ErrOutcomeUnknown = errors.New("zk: outcome unknown")
	// ErrTransactionFailed reports a transaction one of whose operations the
	// server refused; the error, an *OpError, names that operation. A
	// refusal of the whole request is an *Error for "commit" instead.
	ErrTransactionFailed = errors.New("zk: transaction failed")
	// ErrRolledBack is reported for the operations of a failed transaction
	// that were rolled back because another operation failed.
	ErrRolledBack = errors.New("zk: rolled back")
	// ErrUnfinishedRead is never returned. It exists for parity with aiozk's
	// UnfinishedRead, for a reply that ends before its record does. zkit
	// reports such a reply, and any other it cannot decode, with
	// ErrMarshallingError: the caller the reply was for gets it, and the
	// connection is closed and made again.
	ErrUnfinishedRead = errors.New("zk: unfinished read")
	// ErrResponse reports a reply that does not match the request it answers.
	ErrResponse = errors.New("zk: unexpected response")
	// ErrClosed reports use of a closed client.
	ErrClosed = errors.New("zk: client is closed")
	// ErrNotStarted reports a call made before Start.
	ErrNotStarted = errors.New("zk: client is not started")
	// ErrInvalidPath reports a path ZooKeeper would reject.
	ErrInvalidPath = errors.New("zk: invalid path")
	// ErrDataTooLarge reports data over the client's size limit.
	ErrDataTooLarge = errors.New("zk: data too large")
	// ErrInvalidArgument reports any other argument that cannot be sent.
	ErrInvalidArgument = errors.New("zk: invalid argument")
	// ErrEmptyTransaction reports Commit on a transaction with no operations.
	ErrEmptyTransaction = errors.New("zk: empty transaction")
	// ErrWatcherOverflow reports a persistent watcher whose consumer fell too
	// far behind; the watcher ends and the consumer must resynchronise.
	ErrWatcherOverflow = errors.New("zk: watcher overflow")
	// ErrWatchRemoved reports a watch removed by RemoveWatches.
	ErrWatchRemoved = errors.New("zk: watch removed")
)

// ConnectError reports a failure to reach one server.
type ConnectError struct {
	Host string // the server's host, as the servers string named it
	Port int    // its port
	Err  error  // why the attempt failed
}

// Error names the server and why the connection failed.
func (e *ConnectError) Error() string {
	return fmt.Sprintf("zk: connect to %s: %v", net.JoinHostPort(e.Host, strconv.Itoa(e.Port)), e.Err)
}

// Unwrap returns the failure's cause.
func (e *ConnectError) Unwrap() error { return e.Err }

// Is makes every *ConnectError match ErrConnect.
func (e *ConnectError) Is(target error) bool { return target == ErrConnect }

// ErrConnect matches every *ConnectError.
var ErrConnect = errors.New("zk: connect failed")

// opError wraps err with the operation and path, unless err already names them.
func opError(op, path string, err error) error {
	if err == nil {
		return nil
	}
	if ze, ok := err.(*Error); ok && ze.Op == "" {
		return &Error{Code: ze.Code, Op: op, Path: path, cause: ze.cause}
	}
	// A server error wrapped in a client-side one (ErrFailedRetry after
	// the last attempt) keeps its wrapper, so both match with errors.Is.
	var ze *Error
	if errors.As(err, &ze) && ze.Op != "" {
		return err
	}
	return &callError{op: op, path: path, err: err}
}

// callError attaches the operation and path to a client-side error.
type callError struct {
	op, path string
	err      error
}

func (e *callError) Error() string {
	if e.path == "" {
		return fmt.Sprintf("%s: %v", e.op, e.err)
	}
	return fmt.Sprintf("%s %s: %v", e.op, e.path, e.err)
}

func (e *callError) Unwrap() error { return e.err }

// As makes errors.As find a server error that came without the call's
// operation and path (the last attempt's, under ErrFailedRetry) with them.
func (e *callError) As(target any) bool {
	t, ok := target.(**Error)
	if !ok {
		return false
	}
	var inner *Error
	if !errors.As(e.err, &inner) || inner.Op != "" {
		return false // errors.As goes on down the chain
	}
	*t = &Error{Code: inner.Code, Op: e.op, Path: e.path, cause: inner.cause}
	return true
}

// outcomeUnknownError is ErrOutcomeUnknown with what the retry found,
// which it tells of but does not match (a refusal, say).
type outcomeUnknownError struct{ found string }

func (e *outcomeUnknownError) Error() string {
	return "zk: outcome unknown: the write was lost in flight, and " + e.found
}

// Is matches ErrOutcomeUnknown and ErrConnectionLoss.
func (e *outcomeUnknownError) Is(target error) bool {
	return target == ErrOutcomeUnknown || target == ErrConnectionLoss
}

// As gives errors.As a connection loss *Error, the code of an outcome
// unknown.
func (e *outcomeUnknownError) As(target any) bool {
	t, ok := target.(**Error)
	if ok {
		*t = &Error{Code: CodeConnectionLoss}
	}
	return ok
}
