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

// A read-only server without local sessions answers the connect request
// with a bare reply header carrying NotReadOnly: the attempt fails with
// ErrNotReadOnly, not with a marshalling error. A bare header with any
// other code (SessionExpired included: a server tells of an expired
// session with a timeout of 0) is still a malformed answer.
func TestUnitHandshakeRefusalHeaderIsItsError(t *testing.T) {
	for _, tc := range []struct {
		code int32
		want error
	}{
		{int32(CodeNotReadOnly), ErrNotReadOnly},
		{int32(CodeSessionExpired), ErrMarshallingError},
		{0, ErrMarshallingError},
	} {
		client, server := net.Pipe()
		go func() {
			defer server.Close()
			if _, err := proto.ReadFrame(bufio.NewReader(server), nil, 1<<20); err == nil {
				frame, start := proto.AppendFrameStart(nil)
				frame = proto.ReplyHeader{Xid: 0, Zxid: 0x100000001, Err: tc.code}.Encode(frame)
				_, _ = server.Write(proto.FinishFrame(frame, start))
			}
		}()
		_, err := exchangeConnect(client, bufio.NewReader(client), proto.ConnectRequest{TimeoutMs: 10000, Passwd: make([]byte, 16)})
		client.Close()
		if !errors.Is(err, tc.want) {
			t.Errorf("code %d: %v, want %v", tc.code, err, tc.want)
		}
		if tc.want != ErrMarshallingError && errors.Is(err, ErrMarshallingError) {
			t.Errorf("code %d: %v, want no marshalling error", tc.code, err)
		}
		if tc.want == ErrMarshallingError && errors.Is(err, ErrSessionExpired) {
			t.Errorf("code %d: %v, want no session expiry", tc.code, err)
		}
	}
}
