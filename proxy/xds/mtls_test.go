package xds_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	api "github.com/octomesh/octomesh/api/ca"
	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/cp/ca/catest"
	metaserver "github.com/octomesh/octomesh/cp/meta"
	"github.com/octomesh/octomesh/cp/pilot"
)

// With mutual TLS on the xDS port, a sidecar gets its routes over a stream
// authenticated by its certificate; one whose node names another app than
// its certificate is refused by the pilot and gets none.
func TestXDSOverMutualTLS(t *testing.T) {
	dir := tempDir(t)
	pki := catest.New(t, dir)
	bundle := pki.Bundle
	pc, pk := pki.Issue(pilot.PilotApp)
	xtls, err := pilot.XDSTLS(pc, pk, bundle, "mesh.local")
	if err != nil {
		t.Fatal(err)
	}
	apiAddr := "unix://" + filepath.Join(dir, "api.sock")
	p, err := pilot.Start(pilot.Options{XDSAddress: "127.0.0.1:0", HTTPAddress: apiAddr, DataDir: filepath.Join(dir, "etcd"), XDSTLS: xtls, Log: logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	reg, err := registry.NewClient(apiAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	in := startInstance(t, dir, "i1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, _, err := reg.Register(ctx, in.registration(1), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	wc, wk := pki.Issue("web")
	client := func(app, sock string) string {
		out := filepath.Join(dir, sock)
		sidecar(t, fmt.Sprintf(`
node: {id: %s-1, app: %s, zone: z1}
identity: {cert_file: %q, key_file: %q, bundle_file: %q}
listeners: [{name: outbound, address: "unix://%s"}]
xds:
  pilot: "%s"
  tls: {mode: strict}
  subscribe_wait: 3s
  reconnect_max: 200ms
`, app, app, wc, wk, bundle, out, strings.TrimPrefix(p.Addrs().XDS, "tcp://")))
		return out
	}
	if from := dial(t, client("web", "web.sock")).mustCall("echo"); from != "i1" {
		t.Fatalf("answered by %q", from)
	}
	if n := p.XDS.Stats.IdentityRefused.Load(); n != 0 {
		t.Fatalf("identity_refused %d for a sidecar whose node and certificate agree", n)
	}
	// The web certificate on a node that says it is billing.
	out := client("billing", "billing.sock")
	eventually(t, 30*time.Second, "the pilot refuses the billing node with web's certificate", func() bool { return p.XDS.Stats.IdentityRefused.Load() > 0 })
	if _, meshErr := dial(t, out).call("echo", "Echo"); meshErr == "" {
		t.Fatal("a sidecar refused by the pilot routed a call")
	}
}

// With Meta's port and the pilot's xDS port both mutual TLS, a sidecar in
// strict mode finds its pilot at Meta with its certificate and gets its
// routes; Meta saw the look-up and refused nothing.
func TestMetaAndXDSOverMutualTLS(t *testing.T) {
	dir := tempDir(t)
	pki := catest.New(t, dir)
	bundle := pki.Bundle
	mtls := pki.ServerTLS(api.MetaApp)
	m, err := metaserver.Start(metaserver.Options{HTTPAddress: "127.0.0.1:0", DataDir: filepath.Join(dir, "etcd"), HTTPTLS: mtls, TrustDomain: "mesh.local", Log: logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	pc, pk := pki.Issue(pilot.PilotApp)
	xtls, err := pilot.XDSTLS(pc, pk, bundle, "mesh.local")
	if err != nil {
		t.Fatal(err)
	}
	p, err := pilot.Start(pilot.Options{XDSAddress: "127.0.0.1:0", HTTPAddress: "127.0.0.1:0", EtcdEndpoints: []string{m.Addrs().Etcd},
		Shard: &pilot.ShardOptions{ID: "p1", LeaseTTL: 2 * time.Second}, XDSTLS: xtls, Log: logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	in := startInstance(t, dir, "i1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := p.Store.Register(ctx, in.registration(1), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	wc, wk := pki.Issue("web")
	out := filepath.Join(dir, "web.sock")
	sidecar(t, fmt.Sprintf(`
node: {id: web-1, app: web, zone: z1}
identity: {cert_file: %q, key_file: %q, bundle_file: %q}
listeners: [{name: outbound, address: "unix://%s"}]
xds:
  meta: "%s"
  tls: {mode: strict}
  subscribe_wait: 3s
  reconnect_max: 200ms
`, wc, wk, bundle, out, strings.TrimPrefix(m.Addrs().HTTP, "tcp://")))
	if from := dial(t, out).mustCall("echo"); from != "i1" {
		t.Fatalf("answered by %q", from)
	}
	if m.Stats.Lookups.Load() == 0 {
		t.Fatal("the sidecar did not ask Meta")
	}
}
