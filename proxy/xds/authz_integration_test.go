package xds_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	api "github.com/octomesh/octomesh/api/ca"
	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/cp/ca"
)

// An inbound listener gets the rule set of the service it serves from the
// pilot (the service's policy, as an Authorization document compiles
// to): a denied caller app gets permission_denied naming its identity and
// the rule set; another app is allowed; removing the rule set allows every
// caller again. Callers reach the server sidecar over strict mTLS.
func TestPushedAuthorization(t *testing.T) {
	dir := tempDir(t)
	e := startPilot(t)
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
	bundle := write("bundle.pem", api.EncodeCertificates(c.Bundle()...))
	identity := func(app string) string {
		certPEM, keyPEM, err := c.Issue(app, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("identity: {cert_file: %q, key_file: %q, bundle_file: %q}\n",
			write(app+".pem", certPEM), write(app+"-key.pem", keyPEM), bundle)
	}

	// Server side: echo's sidecar takes echo's rule sets from the pilot.
	be := startBackend(t, dir, "b1")
	srv := sidecar(t, fmt.Sprintf(`
node: {id: echo-1, app: echo, zone: z1}
%slisteners:
  - name: inbound
    address: tcp://127.0.0.1:0
    tls: {mode: strict}
    authorization_from_pilot: [echo]
    routes: [{service: echo, cluster: local-app}]
  - name: outbound
    address: unix://%s
clusters: [{name: local-app, endpoints: [{address: "unix://%s"}]}]
xds:
  pilot: "%s"
  reconnect_max: 200ms
`, identity("echo"), filepath.Join(dir, "echo-out.sock"), be.addr, e.xdsAddr))
	inbound := strings.TrimPrefix(srv.ListenerAddr("inbound"), "tcp://")
	ctx := ctxT(t)
	if _, _, err := e.api.Register(ctx, registry.Instance{Service: "echo", App: "echo", Address: inbound, Weight: 1, Zone: "z1"}, 30*time.Second); err != nil {
		t.Fatal(err)
	}

	// Callers: web and batch, each through its own sidecar, strict mTLS.
	caller := func(app string) *caller {
		out := filepath.Join(dir, app+".sock")
		sidecar(t, fmt.Sprintf(`
node: {id: %s-1, app: %s}
%slisteners: [{name: outbound, address: "unix://%s", routes: [{service: echo, cluster: echo}]}]
clusters: [{name: echo, request_timeout: 5s, tls: {mode: strict}, endpoints: [{address: %q}]}]
`, app, app, identity(app), out, inbound))
		return dial(t, out)
	}
	web, batch := caller("web"), caller("batch")
	if from := web.mustCall("echo"); from != "b1" {
		t.Fatalf("web answered by %q", from)
	}
	if from := batch.mustCall("echo"); from != "b1" {
		t.Fatalf("batch answered by %q before any rule", from)
	}

	// The rule set: web may call, batch may not call Echo.
	policy := registry.ServicePolicy{Authorization: []config.AuthzPolicy{{Name: "echo-callers", Service: "echo", Rules: []config.AuthzRule{
		{Action: config.ActionDeny, From: []string{"batch"}, Methods: []string{"Echo"}},
		{Action: config.ActionAllow, From: []string{"web", "spiffe://mesh.local/app/batch"}},
	}}}}
	if err := e.api.PutPolicy(ctx, "echo", policy); err != nil {
		t.Fatal(err)
	}
	var msg, meshErr string
	eventually(t, 30*time.Second, "batch is denied by the pushed rule set", func() bool {
		msg, meshErr = batch.call("echo", "Echo")
		return meshErr != ""
	})
	if !strings.Contains(meshErr, "permission") || !strings.Contains(msg, "caller spiffe://mesh.local/app/batch") || !strings.Contains(msg, "rule set echo-callers") {
		t.Errorf("batch's denial: %s: %s", meshErr, msg)
	}
	if from := web.mustCall("echo"); from != "b1" {
		t.Errorf("web answered by %q", from)
	}
	if from, meshErr := batch.call("echo", "Other"); meshErr != "" || from != "b1" {
		t.Errorf("batch may call Other: %q %q", from, meshErr)
	}
	if st := srv.XDS().Status(); st.Listeners["echo"] == "" || st.Stats["nacks"] != 0 {
		t.Errorf("xds status: listeners %v, nacks %d", st.Listeners, st.Stats["nacks"])
	}

	// Without the rule set every caller is allowed again.
	if err := e.api.DeletePolicy(ctx, "echo"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "batch is allowed once the rule set is gone", func() bool {
		_, meshErr = batch.call("echo", "Echo")
		return meshErr == ""
	})
	if from := web.mustCall("echo"); from != "b1" {
		t.Errorf("web answered by %q", from)
	}
}
