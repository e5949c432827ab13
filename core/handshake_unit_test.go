package core

import (
	"bufio"
	"errors"
	"net"
	"testing"

	"github.com/zkit-go/zkit/core/proto"
)

// A server whose answer to the connect request is not a frame at all (a
// negative length, or one over the limit of a connect response) answered
// with a malformed reply, as one whose body does not decode: the attempt
// fails with ErrMarshallingError, not as a mere connection loss.
func TestUnitHandshakeBadFrameIsMarshallingError(t *testing.T) {
	for _, length := range [][]byte{{0xff, 0xff, 0xff, 0xff}, {0, 0, 0x10, 0x01}} {
		client, server := net.Pipe()
		go func() {
			defer server.Close()
			if _, err := proto.ReadFrame(bufio.NewReader(server), nil, 1<<20); err == nil {
				_, _ = server.Write(length)
			}
		}()
		_, err := exchangeConnect(client, bufio.NewReader(client), proto.ConnectRequest{TimeoutMs: 10000, Passwd: make([]byte, 16)})
		client.Close()
		if !errors.Is(err, ErrMarshallingError) || errors.Is(err, ErrConnectionLoss) {
			t.Errorf("length % x: %v, want a marshalling error and no connection loss", length, err)
		}
	}
}
