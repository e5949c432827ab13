package lock

import (
	"context"
	"errors"
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
