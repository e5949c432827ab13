package core_test

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
)

func TestUnitParseServers(t *testing.T) {
	cases := []struct {
		spec  string
		addrs []string
		root  string
	}{
		{"127.0.0.1:2181", []string{"127.0.0.1:2181"}, ""},
		{"localhost", []string{"localhost:2181"}, ""},
		{"zk1,zk2:2182,zk3:2183", []string{"zk1:2181", "zk2:2182", "zk3:2183"}, ""},
		{" zk1:1 , zk2:2 ", []string{"zk1:1", "zk2:2"}, ""},
		{"[::1]:2181", []string{"[::1]:2181"}, ""},
		{"[::1]", []string{"[::1]:2181"}, ""},
		{"[2001:db8::1]:65535,10.0.0.1", []string{"[2001:db8::1]:65535", "10.0.0.1:2181"}, ""},
		{"zk1:2181/app", []string{"zk1:2181"}, "/app"},
		{"zk1:2181,[::1]:2182/app/sub", []string{"zk1:2181", "[::1]:2182"}, "/app/sub"},
		{"zk1/app", []string{"zk1:2181"}, "/app"},
		{"zk1:2181/", []string{"zk1:2181"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.spec, func(t *testing.T) {
			addrs, root, err := core.ServerAddrs(tc.spec)
			require.NoError(t, err)
			assert.Equal(t, tc.addrs, addrs)
			assert.Equal(t, tc.root, root)
			n, root2, err := core.ParseServers(tc.spec)
			require.NoError(t, err)
			assert.Equal(t, len(tc.addrs), n)
			assert.Equal(t, tc.root, root2)
		})
	}

	bad := []struct {
		spec string
		want error
	}{
		{"", core.ErrNoServers},
		{"   ", core.ErrNoServers},
		{"zk1,,zk2", core.ErrInvalidArgument},
		{"zk1:", core.ErrInvalidArgument},
		{"zk1:x", core.ErrInvalidArgument},
		{"zk1:0", core.ErrInvalidArgument},
		{"zk1:65536", core.ErrInvalidArgument},
		{":2181", core.ErrInvalidArgument},
		{"::1", core.ErrInvalidArgument},
		{"2001:db8::1:2181", core.ErrInvalidArgument},
		{"[::1", core.ErrInvalidArgument},
		{"[::1]:", core.ErrInvalidArgument},
		{"[::1]:x", core.ErrInvalidArgument},
		{"[::1]2181", core.ErrInvalidArgument},
		{"[zk1]:2181", core.ErrInvalidArgument},
		{"[]:2181", core.ErrInvalidArgument},
		{"zk1:2181/a/", core.ErrInvalidArgument},
		{"zk1:2181/a/../b", core.ErrInvalidArgument},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.spec, func(t *testing.T) {
			_, _, err := core.ServerAddrs(tc.spec)
			require.ErrorIs(t, err, tc.want)
		})
	}

	// Credentials in the list are refused, and the error does not repeat
	// them, wherever a slash in them puts the chroot.
	for _, spec := range []string{
		"user:s3cret@zk1:2181,zk2/app@x",
		"zk://user:s3cret@zk1:2181",
		"user:pa/s3cret@zk1:2181",
		"user:1234/s3cret@zk1:2181",
		"user:s3cr/et@zk1:2181/app",
	} {
		_, _, err := core.ServerAddrs(spec)
		require.ErrorIs(t, err, core.ErrInvalidArgument, spec)
		require.ErrorContains(t, err, "WithAuth", spec)
		require.NotContains(t, err.Error(), "s3cr", spec)
	}
	_, root, err := core.ServerAddrs("zk1:2181/app@x")
	require.NoError(t, err, "a chroot may hold an @")
	require.Equal(t, "/app@x", root)
}

func TestUnitValidatePath(t *testing.T) {
	for _, p := range []string{"/", "/a", "/a/b/c", "/a.b", "/.a", "/a.", "/...", "/a..b", "/zookeeper", "/a b", "/a-b_c:d@e", "/ü/日本", "/\u00a0"} {
		assert.NoError(t, core.ValidatePath(p, false), "%q", p)
	}
	for _, bp := range badPathsA {
		err := core.ValidatePath(bp.path, false)
		assert.ErrorIs(t, err, core.ErrInvalidPath, "%s: %q", bp.name, bp.path)
	}
	// A sequential create may end in "/": the server appends the number.
	assert.NoError(t, core.ValidatePath("/a/", true))
	assert.NoError(t, core.ValidatePath("/", true))
	assert.NoError(t, core.ValidatePath("/a/lock-", true))
	assert.NoError(t, core.ValidatePath("/a/.", true), "the server checks /a/.0000000000")
	assert.NoError(t, core.ValidatePath("/a/..", true), "the server checks /a/..0000000000")
	for _, p := range []string{"", "a/", "/a//", "/./", "/a/../", "/./a", "/../a-"} {
		assert.ErrorIs(t, core.ValidatePath(p, true), core.ErrInvalidPath, "%q", p)
	}
}

func TestUnitDigestID(t *testing.T) {
	// Values from `echo -n user:password | openssl sha1 -binary | base64`.
	cases := map[[2]string]string{
		{"user", "password"}: "user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=",
		{"super", "secret"}:  "super:lK75jTNcA+U9vtVEw5vB51mj/w4=",
		{"alice", "secret"}:  "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=",
		{"user", ""}:         "user:kd7q5xGKLW+18xQTfO8iqRaFvsM=",
	}
	for in, want := range cases {
		assert.Equal(t, want, core.DigestID(in[0], in[1]))
	}
}

func TestUnitProtectedNames(t *testing.T) {
	assert.Equal(t, "_c_", core.ProtectedPrefix)

	full, prefix := core.NewProtectedName("lock-")
	require.Len(t, prefix, 40, `"_c_" + 36-character uuid + "-"`)
	require.Regexp(t, protectedNameA, prefix)
	assert.Equal(t, prefix+"lock-", full)
	assert.True(t, core.IsProtectedName(full))
	assert.Equal(t, "lock-", core.StripProtectedPrefix(full))
	again, prefix2 := core.NewProtectedName("lock-")
	assert.NotEqual(t, prefix, prefix2, "a fresh uuid each time")
	assert.NotEqual(t, full, again)

	uuid := "0f8fad5b-d9cb-469f-a165-70867728950e"
	cases := []struct {
		name      string
		protected bool
		stripped  string
	}{
		{"_c_" + uuid + "-lock-0000000001", true, "lock-0000000001"},
		{"_c_" + uuid + "-x", true, "x"},
		{"_c_" + uuid + "-", false, "_c_" + uuid + "-"}, // nothing after the prefix
		{"_c_" + uuid + "_lock", false, "_c_" + uuid + "_lock"},
		{"_d_" + uuid + "-lock", false, "_d_" + uuid + "-lock"},
		{"c_" + uuid + "-lock", false, "c_" + uuid + "-lock"},
		{"lock-0000000001", false, "lock-0000000001"},
		{"", false, ""},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.protected, core.IsProtectedName(tc.name), "%q", tc.name)
		assert.Equal(t, tc.stripped, core.StripProtectedPrefix(tc.name), "%q", tc.name)
	}
}

func TestUnitErrors(t *testing.T) {
	sentinels := map[core.Code]error{
		core.CodeSystemError:              core.ErrSystemError,
		core.CodeRuntimeInconsistency:     core.ErrRuntimeInconsistency,
		core.CodeDataInconsistency:        core.ErrDataInconsistency,
		core.CodeConnectionLoss:           core.ErrConnectionLoss,
		core.CodeMarshallingError:         core.ErrMarshallingError,
		core.CodeUnimplemented:            core.ErrUnimplemented,
		core.CodeOperationTimeout:         core.ErrOperationTimeout,
		core.CodeBadArguments:             core.ErrBadArguments,
		core.CodeUnknownSession:           core.ErrUnknownSession,
		core.CodeNewConfigNoQuorum:        core.ErrNewConfigNoQuorum,
		core.CodeReconfigInProcess:        core.ErrReconfigInProcess,
		core.CodeAPIError:                 core.ErrAPIError,
		core.CodeNoNode:                   core.ErrNoNode,
		core.CodeNoAuth:                   core.ErrNoAuth,
		core.CodeBadVersion:               core.ErrBadVersion,
		core.CodeNoChildrenForEphemerals:  core.ErrNoChildrenForEphemerals,
		core.CodeNodeExists:               core.ErrNodeExists,
		core.CodeNotEmpty:                 core.ErrNotEmpty,
		core.CodeSessionExpired:           core.ErrSessionExpired,
		core.CodeInvalidCallback:          core.ErrInvalidCallback,
		core.CodeInvalidACL:               core.ErrInvalidACL,
		core.CodeAuthFailed:               core.ErrAuthFailed,
		core.CodeSessionMoved:             core.ErrSessionMoved,
		core.CodeNotReadOnly:              core.ErrNotReadOnly,
		core.CodeEphemeralOnLocalSession:  core.ErrEphemeralOnLocalSession,
		core.CodeNoWatcher:                core.ErrNoWatcher,
		core.CodeRequestTimeout:           core.ErrRequestTimeout,
		core.CodeReconfigDisabled:         core.ErrReconfigDisabled,
		core.CodeSessionClosedRequireSASL: core.ErrSessionClosedRequireSASL,
		core.CodeQuotaExceeded:            core.ErrQuotaExceeded,
		core.CodeThrottled:                core.ErrThrottled,
	}
	for code, sentinel := range sentinels {
		assert.Equal(t, &core.Error{Code: code}, sentinel)
		err := error(&core.Error{Code: code, Op: "get", Path: "/p"})
		wrapped := fmt.Errorf("context: %w", err)
		for other, otherSentinel := range sentinels {
			assert.Equal(t, other == code, errors.Is(err, otherSentinel), "%v is %v", code, other)
			assert.Equal(t, other == code, errors.Is(wrapped, otherSentinel), "wrapped %v is %v", code, other)
		}
		assert.False(t, errors.Is(err, core.ErrUnknown), "%v is a known code", code)
		assert.NotContains(t, code.String(), "unknown error code", "%d has a name", int32(code))
		assert.Equal(t, "zk: get /p: "+code.String(), err.Error())
	}

	unknown := &core.Error{Code: -999, Op: "get", Path: "/p"}
	assert.ErrorIs(t, unknown, core.ErrUnknown)
	assert.ErrorIs(t, fmt.Errorf("wrapped: %w", unknown), core.ErrUnknown)
	assert.NotErrorIs(t, unknown, core.ErrNoNode)
	assert.Equal(t, "zk: get /p: unknown error code -999", unknown.Error())
	assert.Equal(t, "unknown error code 7", core.Code(7).String())

	// Messages name what they can.
	assert.Equal(t, "zk: node does not exist", core.ErrNoNode.Error())
	assert.Equal(t, "zk: whoAmI: connection loss", (&core.Error{Code: core.CodeConnectionLoss, Op: "whoAmI"}).Error())
	assert.Equal(t, "zk: delete /a/b: node has children", (&core.Error{Code: core.CodeNotEmpty, Op: "delete", Path: "/a/b"}).Error())

	// A target with an operation is no sentinel: only codes match.
	assert.NotErrorIs(t, &core.Error{Code: core.CodeNoNode, Op: "get"}, &core.Error{Code: core.CodeNoNode, Op: "set"})
	assert.ErrorIs(t, &core.Error{Code: core.CodeNoNode, Op: "get"}, &core.Error{Code: core.CodeNoNode})
	var ze *core.Error
	require.ErrorAs(t, fmt.Errorf("x: %w", unknown), &ze)
	assert.Equal(t, core.Code(-999), ze.Code)

	// Client-side sentinels are distinct from each other and from codes.
	client := []error{core.ErrNoServers, core.ErrClosed, core.ErrNotStarted, core.ErrInvalidPath,
		core.ErrDataTooLarge, core.ErrInvalidArgument, core.ErrInvalidClientState, core.ErrConnect}
	for i, a := range client {
		for j, b := range client {
			assert.Equal(t, i == j, errors.Is(a, b), "%v is %v", a, b)
		}
		assert.NotErrorIs(t, a, core.ErrUnknown)
	}

	ce := &core.ConnectError{Host: "zk1", Port: 2181, Err: io.ErrUnexpectedEOF}
	assert.ErrorIs(t, ce, core.ErrConnect)
	assert.ErrorIs(t, ce, io.ErrUnexpectedEOF)
	assert.ErrorIs(t, fmt.Errorf("start: %w", ce), core.ErrConnect)
	assert.Equal(t, "zk: connect to zk1:2181: unexpected EOF", ce.Error())
	v6 := &core.ConnectError{Host: "::1", Port: 2181, Err: io.ErrUnexpectedEOF}
	assert.Equal(t, "zk: connect to [::1]:2181: unexpected EOF", v6.Error(), "an IPv6 host is bracketed, as in a server list")
	assert.NotErrorIs(t, io.ErrUnexpectedEOF, core.ErrConnect)
}

func TestUnitStrings(t *testing.T) {
	states := map[core.State]string{
		core.StateConnecting:        "Connecting",
		core.StateConnected:         "Connected",
		core.StateConnectedReadOnly: "ConnectedReadOnly",
		core.StateSuspended:         "Suspended",
		core.StateExpired:           "Expired",
		core.StateClosed:            "Closed",
		core.StateAuthFailed:        "AuthFailed",
		core.State(99):              "State(99)",
	}
	for s, want := range states {
		assert.Equal(t, want, s.String())
	}
}

// Every retry policy pauses as its doc says: the jittered ones from about
// their first pause (±50%) up to their maximum, however long the retries
// go on; NewRetryPolicy's as its SleepFunc says, or not at all.
func TestUnitRetryPolicyPauses(t *testing.T) {
	const retries = 40
	for _, tc := range []struct {
		name          string
		policy        *core.RetryPolicy
		first, lo, hi time.Duration // first: the first pause's nominal value
	}{
		{"RetryOnce", core.RetryOnce(), 50 * time.Millisecond, 25 * time.Millisecond, time.Second},
		{"RetryNTimes", core.RetryNTimes(retries), 50 * time.Millisecond, 25 * time.Millisecond, time.Second},
		{"RetryForever", core.RetryForever(), 50 * time.Millisecond, 25 * time.Millisecond, time.Second},
		{"RetryUntilElapsed", core.RetryUntilElapsed(time.Minute), 50 * time.Millisecond, 25 * time.Millisecond, time.Second},
		{"RetryExponentialBackoff", core.RetryExponentialBackoff(20*time.Millisecond, 60*time.Millisecond), 20 * time.Millisecond, 10 * time.Millisecond, 60 * time.Millisecond},
		{"NewRetryPolicy nil sleep", core.NewRetryPolicy(retries, nil), 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 20 {
				pauses := core.PolicyPauses(tc.policy, retries)
				if p := pauses[0]; p < tc.first/2 || p > tc.first*3/2 {
					t.Fatalf("first pause %v, want %v ±50%%", p, tc.first)
				}
				for i, p := range pauses {
					if p < tc.lo || p > tc.hi {
						t.Fatalf("pause %d = %v, want between %v and %v", i, p, tc.lo, tc.hi)
					}
				}
				if tc.hi > 0 && pauses[retries-1] < tc.hi/2 {
					t.Fatalf("pause %d = %v: the pauses do not grow to the maximum %v", retries-1, pauses[retries-1], tc.hi)
				}
			}
		})
	}
	t.Run("NewRetryPolicy sleep", func(t *testing.T) {
		var seen []int
		p := core.NewRetryPolicy(3, func(attempts []time.Time) time.Duration {
			seen = append(seen, len(attempts))
			return time.Duration(len(attempts)) * time.Millisecond
		})
		got := core.PolicyPauses(p, 3)
		want := []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond}
		if !slices.Equal(got, want) || !slices.Equal(seen, []int{1, 2, 3}) {
			t.Errorf("pauses %v after %v attempts, want %v after [1 2 3]", got, seen, want)
		}
	})
}
