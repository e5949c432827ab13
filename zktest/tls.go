package zktest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// tlsMaterial is a CA generated for one server or ensemble, and a server
// certificate it signed for 127.0.0.1 and localhost, written as PEM files
// that ZooKeeper reads as key and trust stores.
type tlsMaterial struct {
	caPEM      []byte
	pool       *x509.CertPool
	keyStore   string // server key, certificate and CA certificate
	trustStore string // CA certificate
}

func newTLSMaterial(dir string) (*tlsMaterial, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "zktest CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}

	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	keyStore := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	keyStore = append(keyStore, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	keyStore = append(keyStore, caPEM...)

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	m := &tlsMaterial{
		caPEM:      caPEM,
		pool:       x509.NewCertPool(),
		keyStore:   filepath.Join(dir, "server.pem"),
		trustStore: filepath.Join(dir, "ca.pem"),
	}
	m.pool.AddCert(ca)
	if err := os.WriteFile(m.keyStore, keyStore, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(m.trustStore, caPEM, 0o644); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *tlsMaterial) config() [][2]string {
	return [][2]string{
		{"ssl.keyStore.location", m.keyStore},
		{"ssl.keyStore.type", "PEM"},
		{"ssl.trustStore.location", m.trustStore},
		{"ssl.trustStore.type", "PEM"},
		{"ssl.clientAuth", "none"},
	}
}

func (m *tlsMaterial) clientConfig() *tls.Config {
	return &tls.Config{RootCAs: m.pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}
