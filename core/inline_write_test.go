package core_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
	"github.com/zkit-go/zkit/zktest"
)

// A large request on an idle connection whose server has stopped reading
// does not hold its caller in the write: the call returns when its ctx
// ends, the request still goes out once the server reads again, and the
// connection serves the calls after it.
func TestLargeRequestOnStalledConnectionHonoursCtx(t *testing.T) {
	srv := zktest.Shared(t)
	gate := newOpGate(proto.OpSetData)
	c := startClientB(t, srv.Addr(), core.WithChroot(chrootB(t, srv.ConnString())), core.WithDialer(gate.dialer()))
	ctx := ctxB(t, waitB)
	_, err := c.Create(ctx, "/x", nil)
	require.NoError(t, err)

	gate.set(true) // the write of a setData request stalls, as into a full socket
	opened := false
	defer func() {
		if !opened {
			gate.set(false)
		}
	}()
	data := bytes.Repeat([]byte{'z'}, 512<<10)
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.SetData(short, "/x", data, core.WithVersion(-1))
		done <- err
	}()
	gate.waitHeld(t)
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("SetData = %v, want its ctx's deadline", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SetData still held in its write 10 s after its ctx ended")
	}

	gate.set(false)
	opened = true
	got, err := c.GetData(ctx, "/x")
	require.NoError(t, err)
	if !bytes.Equal(got, data) {
		t.Errorf("GetData: %d bytes, want the %d the cancelled SetData sent", len(got), len(data))
	}
}
