package inspect_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	api "github.com/octomesh/octomesh/api/ca"
	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/cp/ca/catest"
	"github.com/octomesh/octomesh/cp/inspect"
	"github.com/octomesh/octomesh/cp/pilot"
)

// With an operator's certificate (TLSFiles), the views read a pilot whose
// HTTP port is mutual TLS; without one, the pilot is unreachable.
func TestViewsOfAMutualTLSPilot(t *testing.T) {
	dir := t.TempDir()
	pki := catest.New(t, dir)
	serverTLS := pki.ServerTLS(api.PilotApp)
	p, err := pilot.Start(pilot.Options{XDSAddress: "127.0.0.1:0", HTTPAddress: "127.0.0.1:0", DataDir: filepath.Join(dir, "etcd"),
		HTTPTLS: serverTLS, TrustDomain: "mesh.local", Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	addr := strings.TrimPrefix(p.Addrs().HTTP, "tcp://")
	echoTLS := pki.ClientTLS("echo", api.PilotApp)
	reg, err := registry.NewClientTLS(addr, echoTLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	ctx := context.Background()
	if _, _, err := reg.Register(ctx, registry.Instance{Service: "echo", App: "echo", Address: "127.0.0.1:7001", Weight: 1}, 30*time.Second); err != nil {
		t.Fatal(err)
	}

	oc, ok := pki.Issue("ops")
	opsTLS, err := inspect.TLSFiles(oc, ok, pki.Bundle, "mesh.local")
	if err != nil {
		t.Fatal(err)
	}
	in := newInspector(t, inspect.Options{Pilots: []string{addr}, Timeout: 5 * time.Second, TLS: opsTLS})
	d, err := in.DescribeService(ctx, "echo")
	if err != nil || len(d.Instances) != 1 || d.Source != addr || len(d.Unreachable) != 0 {
		t.Fatalf("describe with a certificate: %+v %v", d, err)
	}
	plain := newInspector(t, inspect.Options{Pilots: []string{addr}, Timeout: 5 * time.Second})
	if d, err := plain.DescribeService(ctx, "echo"); err == nil && len(d.Unreachable) == 0 {
		t.Fatalf("describe without a certificate: %+v", d)
	}
	if _, err := inspect.TLSFiles(oc, "", "", "mesh.local"); err == nil || !strings.Contains(err.Error(), "go together") {
		t.Fatalf("a certificate without its key: %v", err)
	}
}
