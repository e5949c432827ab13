package zktest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"testing"
)

func TestTLS(t *testing.T) {
	s := StartServer(t, WithTLS())
	if s.SecureAddr() == "" || s.SecureAddr() == s.Addr() || s.SecureConnString() != s.SecureAddr() {
		t.Fatalf("SecureAddr %q, Addr %q", s.SecureAddr(), s.Addr())
	}
	if s.CACertPool() == nil || len(s.CACertPEM()) == 0 {
		t.Fatal("no CA")
	}

	// The CA from CACertPEM verifies the server, and the TLS port speaks
	// ZooKeeper: a four-letter word gets its answer.
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CACertPEM()) {
		t.Fatal("CACertPEM holds no certificate")
	}
	for _, cfg := range []*tls.Config{
		s.TLSConfig(),
		{RootCAs: pool, ServerName: "localhost"},
		{RootCAs: s.CACertPool(), ServerName: "127.0.0.1"},
	} {
		conn, err := tls.Dial("tcp", s.SecureAddr(), cfg)
		if err != nil {
			t.Fatalf("handshake with the CA: %v", err)
		}
		if _, err := io.WriteString(conn, "ruok"); err != nil {
			t.Fatal(err)
		}
		out, err := io.ReadAll(conn)
		conn.Close()
		if string(out) != "imok" {
			t.Fatalf("ruok over TLS = %q, %v", out, err)
		}
	}

	// Without the CA, the handshake fails verification.
	conn, err := tls.Dial("tcp", s.SecureAddr(), &tls.Config{ServerName: "127.0.0.1"})
	if err == nil {
		conn.Close()
		t.Fatal("handshake without the CA succeeded")
	}
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("handshake without the CA: %v, want x509.UnknownAuthorityError", err)
	}

	// The plain port still serves.
	wantMode(t, s, ModeStandalone)
}

func TestNoTLS(t *testing.T) {
	s := Shared(t)
	if s.SecureAddr() != "" || s.CACertPool() != nil || s.CACertPEM() != nil || s.TLSConfig() != nil {
		t.Fatal("a server without WithTLS has TLS settings")
	}
}
