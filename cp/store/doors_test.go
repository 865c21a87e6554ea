package store

import (
	"context"
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	api "github.com/octomesh/octomesh/api/ca"
	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/cp/ca"
)

// TLSFiles reads etcd's roots and the client's certificate, and says what
// is wrong with them; the embedded etcd refuses TLS.
func TestTLSFiles(t *testing.T) {
	dir := t.TempDir()
	c, err := ca.New(ca.Options{TrustDomain: "mesh.local", DataDir: filepath.Join(dir, "ca")})
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	roots := write("roots.pem", api.EncodeCertificates(c.Bundle()...))
	certPEM, keyPEM, err := c.Issue("octomesh-pilot", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, key := write("cert.pem", certPEM), write("key.pem", keyPEM)
	cfg, err := TLSFiles(roots, cert, key)
	if err != nil || cfg.RootCAs == nil || len(cfg.Certificates) != 1 || cfg.InsecureSkipVerify {
		t.Fatalf("%+v %v", cfg, err)
	}
	for _, tc := range []struct{ ca, cert, key, want string }{
		{roots, cert, "", "the client certificate and key go together"},
		{write("empty.pem", []byte("nothing")), "", "", "holds no PEM certificate"},
		{filepath.Join(dir, "none.pem"), "", "", "no such file"},
		{roots, cert, roots, "store: etcd tls:"},
	} {
		if _, err := TLSFiles(tc.ca, tc.cert, tc.key); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("TLSFiles(%s, %s, %s): %v, want %q", tc.ca, tc.cert, tc.key, err, tc.want)
		}
	}
	if _, err := Open(Options{DataDir: filepath.Join(dir, "etcd"), TLS: &tls.Config{}}); err == nil || !strings.Contains(err.Error(), "external etcd") {
		t.Fatalf("embedded etcd with TLS: %v", err)
	}
}

// LeaseInstances reads the instances under a lease back from etcd (an
// authenticated registration API reads another server's lease's app from
// them); a revoked lease is not found.
func TestLeaseInstances(t *testing.T) {
	st := startEtcd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := registry.Instance{Service: "echo", App: "echo", Address: "127.0.0.1:7001", Weight: 1}
	lease, err := st.Register(ctx, a, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.LeaseInstances(ctx, lease)
	if err != nil || len(got) != 1 || got[0].App != "echo" || got[0].Address != a.Address {
		t.Fatalf("%+v %v", got, err)
	}
	if err := st.Revoke(ctx, lease); err != nil {
		t.Fatal(err)
	}
	if _, err := st.LeaseInstances(ctx, lease); !errors.Is(err, registry.ErrLeaseNotFound) {
		t.Fatalf("a revoked lease: %v", err)
	}
}
