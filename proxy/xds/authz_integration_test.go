package xds_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/cp/ca/catest"
	"github.com/octomesh/octomesh/cp/dispatcher"
	"github.com/octomesh/octomesh/cp/pilot"
	"github.com/octomesh/octomesh/cp/shardmap"
	"github.com/octomesh/octomesh/cp/store"
	"github.com/octomesh/octomesh/proxy/server"
)

// authzMesh is echo's server sidecar, which takes echo's rule sets from
// the pilot at xdsAddr, in front of backend b1 and registered through reg;
// and two caller apps, web and batch, each through its own sidecar, over
// strict mTLS with certificates of one CA.
type authzMesh struct {
	srv        *server.Server
	web, batch *caller
	// identity is the config's identity section for an app, with a
	// certificate of the mesh's CA.
	identity func(app string) string
}

func startAuthzMesh(t *testing.T, dir, xdsAddr string, reg *registry.Client) *authzMesh {
	t.Helper()
	pki := catest.New(t, dir)
	identity := func(app string) string {
		cert, key := pki.Issue(app)
		return fmt.Sprintf("identity: {cert_file: %q, key_file: %q, bundle_file: %q}\n", cert, key, pki.Bundle)
	}
	be := startBackend(t, dir, "b1")
	m := &authzMesh{identity: identity, srv: sidecar(t, fmt.Sprintf(`
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
`, identity("echo"), filepath.Join(dir, "echo-out.sock"), be.addr, xdsAddr))}
	inbound := strings.TrimPrefix(m.srv.ListenerAddr("inbound"), "tcp://")
	if _, _, err := reg.Register(ctxT(t), registry.Instance{Service: "echo", App: "echo", Address: inbound, Weight: 1, Zone: "z1"}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	caller := func(app string) *caller {
		out := filepath.Join(dir, app+".sock")
		sidecar(t, fmt.Sprintf(`
node: {id: %s-1, app: %s}
%slisteners: [{name: outbound, address: "unix://%s", routes: [{service: echo, cluster: echo}]}]
clusters: [{name: echo, request_timeout: 5s, tls: {mode: strict}, endpoints: [{address: %q}]}]
`, app, app, identity(app), out, inbound))
		return dial(t, out)
	}
	m.web, m.batch = caller("web"), caller("batch")
	if from := m.web.mustCall("echo"); from != "b1" {
		t.Fatalf("web answered by %q", from)
	}
	if from := m.batch.mustCall("echo"); from != "b1" {
		t.Fatalf("batch answered by %q before any rule", from)
	}
	return m
}

// checkDenied waits until batch is refused calling Echo, and checks the
// refusal and that web (and batch calling another method) still pass.
func (m *authzMesh) checkDenied(t *testing.T, ruleSet string) {
	t.Helper()
	var msg, meshErr string
	eventually(t, 30*time.Second, "batch is denied by the pushed rule set", func() bool {
		msg, meshErr = m.batch.call("echo", "Echo")
		return meshErr != ""
	})
	if !strings.Contains(meshErr, "permission") || !strings.Contains(msg, "caller spiffe://mesh.local/app/batch") || !strings.Contains(msg, "rule set "+ruleSet) {
		t.Errorf("batch's denial: %s: %s", meshErr, msg)
	}
	if from := m.web.mustCall("echo"); from != "b1" {
		t.Errorf("web answered by %q", from)
	}
	if from, meshErr := m.batch.call("echo", "Other"); meshErr != "" || from != "b1" {
		t.Errorf("batch may call Other: %q %q", from, meshErr)
	}
	// The status records the version after the configuration took effect.
	eventually(t, 30*time.Second, "the xds status shows the inbound listener", func() bool {
		return m.srv.XDS().Status().Listeners["echo"] != ""
	})
	if st := m.srv.XDS().Status(); st.Stats["nacks"] != 0 {
		t.Errorf("xds status: %d nacks", st.Stats["nacks"])
	}
}

// checkAllowed waits until batch may call Echo again.
func (m *authzMesh) checkAllowed(t *testing.T) {
	t.Helper()
	eventually(t, 30*time.Second, "batch is allowed once the rule set is gone", func() bool {
		_, meshErr := m.batch.call("echo", "Echo")
		return meshErr == ""
	})
	if from := m.web.mustCall("echo"); from != "b1" {
		t.Errorf("web answered by %q", from)
	}
}

// An inbound listener gets the rule set of the service it serves from the
// pilot (the service's policy, as an Authorization document compiles
// to): a denied caller app gets permission_denied naming its identity and
// the rule set; another app is allowed; removing the rule set allows every
// caller again.
func TestPushedAuthorization(t *testing.T) {
	dir := tempDir(t)
	e := startPilot(t)
	m := startAuthzMesh(t, dir, e.xdsAddr, e.api)
	policy := registry.ServicePolicy{Authorization: []config.AuthzPolicy{{Name: "echo-callers", Service: "echo", Rules: []config.AuthzRule{
		{Action: config.ActionDeny, From: []string{"batch"}, Methods: []string{"Echo"}},
		{Action: config.ActionAllow, From: []string{"web", "spiffe://mesh.local/app/batch"}},
	}}}}
	ctx := ctxT(t)
	if err := e.api.PutPolicy(ctx, "echo", policy); err != nil {
		t.Fatal(err)
	}
	m.checkDenied(t, "echo-callers")
	if err := e.api.DeletePolicy(ctx, "echo"); err != nil {
		t.Fatal(err)
	}
	m.checkAllowed(t)
}

// The whole path of an Authorization document: applied through the rule
// store (the dispatcher's operator API, what `octomesh ctl apply` sends),
// compiled into echo's policy, a notice to the pilot, the Listener to
// echo's sidecar; deleting the document allows every caller again.
func TestAuthorizationDocumentThroughTheRuleStore(t *testing.T) {
	dir := tempDir(t)
	st, err := store.Open(store.Options{DataDir: filepath.Join(dir, "etcd")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d, err := dispatcher.Start(dispatcher.Options{DataDir: filepath.Join(dir, "dispatcher"), EtcdEndpoints: []string{st.Endpoints()},
		APIAddress: "127.0.0.1:0", NATSAddress: "127.0.0.1:0", BackCheck: -1, Log: logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// echo's sidecars use echo: the dispatcher forwards echo's notices
	// to the pilot that serves app echo.
	if _, err := st.Modify(ctx, shardmap.AppKey("echo"), func(old []byte) ([]byte, bool) { return shardmap.AddServices(old, []string{"echo"}) }); err != nil {
		t.Fatal(err)
	}
	p, err := pilot.Start(pilot.Options{XDSAddress: "127.0.0.1:0", HTTPAddress: "127.0.0.1:0", EtcdEndpoints: []string{st.Endpoints()},
		NATSURL: d.Addrs().NATS, Log: logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	reg, err := registry.NewClient(strings.TrimPrefix(p.Addrs().HTTP, "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	m := startAuthzMesh(t, dir, strings.TrimPrefix(p.Addrs().XDS, "tcp://"), reg)

	token, err := os.ReadFile(filepath.Join(dir, "dispatcher", "operator.token"))
	if err != nil {
		t.Fatal(err)
	}
	ops, err := rules.NewClient(strings.TrimPrefix(d.Addrs().API, "tcp://"), strings.TrimSpace(string(token)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ops.Close)
	doc := `kind: Authorization
metadata: {name: echo-callers-doc}
target: {service: echo}
spec:
  rules:
    - {action: deny, from: [batch], methods: [Echo]}
    - {action: allow, from: [web, spiffe://mesh.local/app/batch]}
`
	// A bad document is refused with its field named, and changes nothing.
	if _, err := ops.Apply(ctx, "bad.yaml", []byte(strings.Replace(doc, "action: deny", "action: refuse", 1)), false); err == nil ||
		!strings.Contains(err.Error(), "document 1 (Authorization/echo-callers-doc): spec.rules[0].action") {
		t.Fatalf("a bad document: %v", err)
	}
	if _, err := ops.Apply(ctx, "echo.yaml", []byte(doc), false); err != nil {
		t.Fatal(err)
	}
	m.checkDenied(t, "echo-callers-doc")
	if _, err := ops.Delete(ctx, "Authorization", "echo-callers-doc", 0); err != nil {
		t.Fatal(err)
	}
	m.checkAllowed(t)
}

// Clusters that come from the pilot speak mutual TLS with
// xds.cluster_tls strict (the caller's identity, the callee's verified):
// a pilot-fed caller reaches echo's strict listener; one without it is
// refused at the handshake.
func TestPilotClustersOverMutualTLS(t *testing.T) {
	dir := tempDir(t)
	e := startPilot(t)
	m := startAuthzMesh(t, dir, e.xdsAddr, e.api)
	fed := func(app, extra string) *caller {
		out := filepath.Join(dir, app+"-fed.sock")
		sidecar(t, fmt.Sprintf(`
node: {id: %s-1, app: %s, zone: z1}
%slisteners: [{name: outbound, address: "unix://%s"}]
xds:
  pilot: "%s"
  subscribe_wait: 5s
  reconnect_max: 200ms
%s`, app, app, m.identity(app), out, e.xdsAddr, extra))
		return dial(t, out)
	}
	tlsCaller := fed("api", "  cluster_tls: {mode: strict}\n")
	// The pilot answers an on-demand subscription with what it holds:
	// echo's instance may follow its cluster.
	eventually(t, 30*time.Second, "api reaches echo over mutual TLS", func() bool {
		from, meshErr := tlsCaller.call("echo", "Echo")
		return meshErr == "" && from == "b1"
	})
	for range 20 {
		if from := tlsCaller.mustCall("echo"); from != "b1" {
			t.Fatalf("answered by %q", from)
		}
	}
	plain := fed("cron", "")
	var last string
	eventually(t, 30*time.Second, "the plain caller knows echo's instance and is refused at the handshake", func() bool {
		from, meshErr := plain.call("echo", "Echo")
		if meshErr == "" {
			t.Fatalf("a plain caller reached a strict listener (answered by %q)", from)
		}
		last = meshErr
		return meshErr != "no_instances"
	})
	if last != "connection_lost" {
		t.Errorf("the plain caller's refusal: %s, want connection_lost", last)
	}
}
