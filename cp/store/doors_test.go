package store

import (
	"context"
	"crypto/tls"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/registry"
)

// The embedded etcd refuses TLS: it serves only its own process's
// loopback clients.
func TestEmbeddedRefusesTLS(t *testing.T) {
	if _, err := Open(Options{DataDir: filepath.Join(t.TempDir(), "etcd"), TLS: &tls.Config{}}); err == nil || !strings.Contains(err.Error(), "external etcd") {
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
