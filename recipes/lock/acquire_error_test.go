package lock

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/zkit-go/zkit/core"
)

// An acquisition whose caller gave up reports the caller's context, even
// when its last step failed otherwise: a connection lost just as ctx ended
// fails the call in flight with a connection loss, and that alone would
// tell the caller to try again. (The session is not consulted once ctx has
// ended, so none is needed here.)
func TestAcquireErrorAfterGivingUp(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	loss := &core.Error{Code: core.CodeConnectionLoss, Op: "create", Path: "/l/_c_x-lock-"}

	err := acquireError(cancelled, nil, loss)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("acquireError(cancelled ctx, connection loss) = %v; want context.Canceled", err)
	}
	if errors.Is(err, core.ErrConnectionLoss) {
		t.Errorf("acquireError(cancelled ctx, connection loss) = %v; it should not match ErrConnectionLoss, which asks for a retry", err)
	}

	for _, tt := range []struct {
		name string
		err  error
		want error
	}{
		{"ctx's own error", context.Canceled, context.Canceled},
		{"a lost lock", lostError(core.ErrSessionExpired), ErrLockLost},
		{"success", nil, nil},
	} {
		got := acquireError(cancelled, nil, tt.err)
		if tt.want == nil {
			if got != nil {
				t.Errorf("%s: acquireError = %v; want nil", tt.name, got)
			}
			continue
		}
		if !errors.Is(got, tt.want) {
			t.Errorf("%s: acquireError = %v; want %v", tt.name, got, tt.want)
		}
	}
}

// A create whose reply was lost, or could not be read, may have made its
// node: the contender looks for it by name before it creates again or
// gives up, so no orphan blocks the queue. A create the server refused
// made nothing.
func TestMayHaveCreated(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection lost", &core.Error{Code: core.CodeConnectionLoss, Op: "create"}, true},
		{"operation timeout", &core.Error{Code: core.CodeOperationTimeout, Op: "create"}, true},
		{"a reply core could not decode", fmt.Errorf("%w: reply to opcode 15: short buffer", core.ErrMarshallingError), true},
		{"ctx ended", context.Canceled, true},
		{"no parent", &core.Error{Code: core.CodeNoNode, Op: "create"}, false},
		{"not allowed", &core.Error{Code: core.CodeNoAuth, Op: "create"}, false},
		{"an invalid path", fmt.Errorf("%w: empty segment", core.ErrInvalidPath), false},
		{"data too large", core.ErrDataTooLarge, false},
	} {
		if got := mayHaveCreated(tt.err); got != tt.want {
			t.Errorf("%s: mayHaveCreated(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
