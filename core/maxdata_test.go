package core_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// TestMaxDataSizeAboveDefault: against a server whose jute.maxbuffer is
// 8 MiB, a client with WithMaxDataSize(4 MiB) creates a 2 MiB node and reads
// it back whole, on the connection and in the session it started with.
func TestMaxDataSizeAboveDefault(t *testing.T) {
	srv := zktest.StartServer(t, zktest.WithJavaFlags("-Djute.maxbuffer=8388608"))
	c := startA(t, srv.ConnString(), core.WithMaxDataSize(4<<20))
	states := listenB(t, c)
	sess := c.Session()
	ctx := ctxA(t)

	data := bytes.Repeat([]byte("0123456789abcdef"), (2<<20)/16)
	_, err := c.Create(ctx, "/big", data)
	require.NoError(t, err)
	got, st, err := c.Get(ctx, "/big")
	require.NoError(t, err)
	require.Equal(t, int32(len(data)), st.DataLength)
	require.True(t, bytes.Equal(data, got), "the data read back is the data written")

	res, err := c.MultiRead(ctx, core.ReadData("/big"))
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	require.True(t, bytes.Equal(data, res[0].Data), "the data read back in a multiRead is the data written")

	require.True(t, c.Session() == sess, "the client keeps the session it started with")
	require.Zero(t, states.count(core.StateSuspended), "the connection never failed: %v", states.snapshot())
}
