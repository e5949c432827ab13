package core

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A TLS connection whose server stopped reading closes at once, even with
// its send buffer full. tls.Conn's own Close would first try to send a
// close_notify alert for up to five seconds, and hold up that long the
// failure of the requests waiting and the reconnect. The bound below
// tells a close that sends no alert from one that waits; it measures no
// speed.
func TestCloseSocketTLSWithStalledServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	serverCfg := &tls.Config{Certificates: []tls.Certificate{selfSignedCert(t)}}
	accepted := make(chan *tls.Conn, 1)
	go func() {
		defer close(accepted)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		_ = nc.(*net.TCPConn).SetReadBuffer(4 << 10)
		sc := tls.Server(nc, serverCfg)
		if sc.Handshake() != nil {
			nc.Close()
			return
		}
		accepted <- sc // and it reads nothing more
	}()

	raw, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true})
	require.NoError(t, tc.Handshake())
	sc, ok := <-accepted
	require.True(t, ok, "the server's handshake failed")
	defer sc.Close()

	// Write until a write runs out of time, as the writer's does before the
	// connection fails, and then until not one more byte fits. (Small
	// buffers, fixed, fill at once.)
	require.NoError(t, raw.(*net.TCPConn).SetWriteBuffer(4<<10))
	require.NoError(t, tc.SetWriteDeadline(time.Now().Add(200*time.Millisecond)))
	for {
		if _, err = tc.Write(make([]byte, 16<<10)); err != nil {
			break
		}
	}
	require.True(t, errors.Is(err, os.ErrDeadlineExceeded), "the write failed otherwise: %v", err)
	for {
		require.NoError(t, raw.SetWriteDeadline(time.Now().Add(200*time.Millisecond)))
		if _, err = raw.Write([]byte{0}); err != nil {
			break
		}
	}
	require.True(t, errors.Is(err, os.ErrDeadlineExceeded), "the write failed otherwise: %v", err)

	closed := make(chan struct{})
	go func() {
		defer close(closed)
		_ = closeSocket(tc)
	}()
	select {
	case <-closed:
	case <-time.After(2 * time.Second):
		t.Fatal("closeSocket still waits after 2 s: it is sending a close_notify alert into a full buffer")
	}
	_, err = tc.Read(make([]byte, 1))
	require.Error(t, err, "a read after the close")
}

// selfSignedCert returns a certificate for 127.0.0.1 signed by its own key.
func selfSignedCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
