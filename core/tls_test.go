package core_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// One TLS server serves every case: starting a JVM is the slow part.
func TestTLS(t *testing.T) {
	srv := zktest.StartServer(t, zktest.WithTLS())
	require.NotEmpty(t, srv.SecureConnString())

	t.Run("server's TLS config", func(t *testing.T) {
		ctx := ctxA(t)
		root := zktest.UniquePath(t)
		c := startA(t, srv.SecureConnString(), core.WithTLS(srv.TLSConfig()), core.WithChroot(root))
		_, err := c.Create(ctx, "/tls", []byte("over TLS"), core.Ephemeral())
		require.NoError(t, err)
		data, err := c.GetData(ctx, "/tls")
		require.NoError(t, err)
		assert.Equal(t, "over TLS", string(data))

		// The plain port sees the same data.
		plain := startA(t, srv.ConnString())
		data, err = plain.GetData(ctx, root+"/tls")
		require.NoError(t, err)
		assert.Equal(t, "over TLS", string(data))
	})
	t.Run("CA pool only", func(t *testing.T) {
		// Without a ServerName the client verifies the server's host, here
		// the address 127.0.0.1 that the certificate names.
		ctx := ctxA(t)
		c := startA(t, srv.SecureConnString(), core.WithTLS(&tls.Config{RootCAs: srv.CACertPool(), MinVersion: tls.VersionTLS12}))
		ok, err := c.Exists(ctx, "/")
		require.NoError(t, err)
		assert.True(t, ok)
		assert.Equal(t, core.StateConnected, c.State())
	})
	t.Run("untrusted CA", func(t *testing.T) {
		c, err := startFailsA(t, srv.SecureConnString(),
			core.WithTLS(&tls.Config{RootCAs: otherCAPoolA(t), MinVersion: tls.VersionTLS12}))
		require.ErrorIs(t, err, core.ErrConnect, "the error says why no connection was made")
		var unknown x509.UnknownAuthorityError
		require.ErrorAs(t, err, &unknown, "the certificate problem is in the chain: %v", err)
		var verify *tls.CertificateVerificationError
		require.ErrorAs(t, err, &verify)
		assert.Equal(t, core.StateClosed, c.State(), "a failed Start closes the client")
	})
	t.Run("plain client on the TLS port", func(t *testing.T) {
		// The handshake fails after the dial: the error still names the
		// server.
		_, err := startFailsA(t, srv.SecureConnString())
		require.ErrorIs(t, err, core.ErrConnect)
		var ce *core.ConnectError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, srv.SecureConnString(), net.JoinHostPort(ce.Host, strconv.Itoa(ce.Port)))
		assert.Contains(t, err.Error(), srv.SecureConnString())
	})
	t.Run("TLS client on the plain port", func(t *testing.T) {
		// The server closes the connection at the client's hello, and the
		// TLS library reports only EOF: the error must say that it was the
		// TLS handshake that failed, and name the server.
		_, err := startFailsA(t, srv.ConnString(), core.WithTLS(srv.TLSConfig()))
		require.ErrorIs(t, err, core.ErrConnect)
		assert.Contains(t, err.Error(), srv.ConnString()+": TLS handshake: ")
	})
	t.Run("wrong server name", func(t *testing.T) {
		cfg := srv.TLSConfig()
		cfg.ServerName = "zk.example.com"
		_, err := startFailsA(t, srv.SecureConnString(), core.WithTLS(cfg))
		var hostname x509.HostnameError
		require.ErrorAs(t, err, &hostname, "the certificate problem is in the chain: %v", err)
	})
}

// A server that wants a client certificate refuses one without it. Over
// TLS 1.3 the client learns that only when it reads the answer to its
// connect request, as the server's alert, which the caller can match by
// type.
func TestTLSClientCertificateRequired(t *testing.T) {
	srv := zktest.StartServer(t, zktest.WithTLS(), zktest.WithConfig("ssl.clientAuth", "need"),
		zktest.WithConfig("ssl.protocol", "TLSv1.3"), zktest.WithConfig("ssl.enabledProtocols", "TLSv1.3"),
		zktest.WithConfig("ssl.ciphersuites", "TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384,TLS_CHACHA20_POLY1305_SHA256"))
	cfg := srv.TLSConfig()
	cfg.MinVersion = tls.VersionTLS13
	_, err := startFailsA(t, srv.SecureConnString(), core.WithTLS(cfg))
	require.ErrorIs(t, err, core.ErrConnect)
	assert.ErrorIs(t, err, core.ErrConnectionLoss)
	var remote *net.OpError
	require.ErrorAs(t, err, &remote, "the server's alert is in the chain: %v", err)
	assert.Equal(t, "remote error", remote.Op)
	assert.Contains(t, remote.Err.Error(), "bad certificate")
}

// otherCAPoolA returns a pool holding a CA that signed nothing the server
// has.
func otherCAPoolA(t *testing.T) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "not the zktest CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool
}

// startFailsA makes a client of servers with opts and a 1 s connect
// timeout, and returns it with the error of a Start that must run out of
// time; the test closes the client.
func startFailsA(t *testing.T, servers string, opts ...core.Option) (*core.Client, error) {
	t.Helper()
	c, err := core.NewClient(servers, append(opts, core.WithConnectTimeout(time.Second))...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(ctxA(t), 2*time.Second)
	defer cancel()
	err = c.Start(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	return c, err
}
