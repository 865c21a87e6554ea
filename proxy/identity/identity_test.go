package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	api "github.com/octomesh/octomesh/api/ca"
)

// fakeCA signs CSRs for the tests, as cp/ca would, with a lifetime.
type fakeCA struct {
	root     *x509.Certificate
	key      *ecdsa.PrivateKey
	lifetime time.Duration
	fail     atomic.Bool
	signed   atomic.Int64
}

func newFakeCA(t testing.TB, lifetime time.Duration) *fakeCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(der)
	return &fakeCA{root: root, key: key, lifetime: lifetime}
}

func (f *fakeCA) leaf(t testing.TB, uri string, pub any) *x509.Certificate {
	u, _ := url.Parse(uri)
	sn, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: sn, NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(f.lifetime), URIs: []*url.URL{u},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.root, pub, f.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func (f *fakeCA) Sign(_ context.Context, csrDER []byte) (*api.SignResponse, error) {
	if f.fail.Load() {
		return nil, errors.New("the CA is down")
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, err
	}
	f.signed.Add(1)
	leaf := f.leaf(nil, csr.URIs[0].String(), csr.PublicKey)
	return &api.SignResponse{Chain: string(api.EncodeCertificates(leaf)), Bundle: string(api.EncodeCertificates(f.root)), NotAfter: leaf.NotAfter}, nil
}

func TestFromCARenewsAtHalfLifeAndRetries(t *testing.T) {
	ca := newFakeCA(t, 2*time.Second)
	s, err := NewFromCA(context.Background(), Options{TrustDomain: "mesh.local", App: "echo", Signer: ca})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first := s.Leaf()
	if s.ID().String() != "spiffe://mesh.local/app/echo" {
		t.Fatalf("id %v", s.ID())
	}
	ca.fail.Store(true)
	waitFor(t, "a failed renewal", func() bool { return s.RenewalFailures.Load() > 0 })
	if s.Renewals.Load() != 0 || !s.Leaf().Equal(first) {
		t.Fatal("a failed renewal replaced the certificate")
	}
	ca.fail.Store(false)
	waitFor(t, "a renewal after the CA came back", func() bool { return s.Renewals.Load() > 0 })
	if s.Leaf().Equal(first) {
		t.Fatal("renewed, but the certificate is the same")
	}
	// A new key each time.
	if s.Leaf().PublicKey.(*ecdsa.PublicKey).Equal(first.PublicKey) {
		t.Error("the renewed certificate has the old key")
	}
}

func TestVerify(t *testing.T) {
	ca, other := newFakeCA(t, time.Hour), newFakeCA(t, time.Hour)
	s, err := NewFromCA(context.Background(), Options{TrustDomain: "mesh.local", App: "server", Signer: ca})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	good := ca.leaf(t, "spiffe://mesh.local/app/client", &key.PublicKey)
	if id, err := s.Verify([][]byte{good.Raw}); err != nil || id != "spiffe://mesh.local/app/client" {
		t.Fatalf("%q %v", id, err)
	}
	var ua x509.UnknownAuthorityError
	if _, err := s.Verify([][]byte{other.leaf(t, "spiffe://mesh.local/app/client", &key.PublicKey).Raw}); !errors.As(err, &ua) {
		t.Errorf("another CA's certificate: %v", err)
	}
	if _, err := s.Verify([][]byte{ca.leaf(t, "spiffe://other.local/app/client", &key.PublicKey).Raw}); err == nil || !strings.Contains(err.Error(), "not of trust domain mesh.local") {
		t.Errorf("another trust domain: %v", err)
	}
	if _, err := s.Verify([][]byte{ca.leaf(t, "https://mesh.local/app/client", &key.PublicKey).Raw}); err == nil {
		t.Error("a certificate without a spiffe ID verified")
	}
	if _, err := s.Verify([][]byte{[]byte("garbage")}); err == nil {
		t.Error("garbage verified")
	}
}

func TestStaticFiles(t *testing.T) {
	ca := newFakeCA(t, time.Hour)
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cert := write("cert.pem", api.EncodeCertificates(ca.leaf(t, "spiffe://mesh.local/app/echo", &key.PublicKey)))
	keyFile := write("key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	bundle := write("bundle.pem", api.EncodeCertificates(ca.root))
	s, err := NewStatic(cert, keyFile, bundle)
	if err != nil {
		t.Fatal(err)
	}
	if s.ID().String() != "spiffe://mesh.local/app/echo" {
		t.Errorf("id %v", s.ID())
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherDER, _ := x509.MarshalPKCS8PrivateKey(other)
	wrongKey := write("wrong.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: otherDER}))
	if _, err := NewStatic(cert, wrongKey, bundle); err == nil {
		t.Error("a key that is not the certificate's was taken")
	}
	otherBundle := write("other.pem", api.EncodeCertificates(newFakeCA(t, time.Hour).root))
	if _, err := NewStatic(cert, keyFile, otherBundle); err == nil || !strings.Contains(err.Error(), "does not verify against the bundle") {
		t.Errorf("a certificate the bundle does not trust: %v", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
