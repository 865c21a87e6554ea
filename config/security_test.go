package config

import (
	"strings"
	"testing"
)

const secureBase = `
node: {app: server}
identity:
  ca: 127.0.0.1:15011
  token_file: /etc/octomesh/token
  trust_domain: mesh.local
  bundle_file: /etc/octomesh/bundle.pem
listeners:
  - name: inbound
    address: tcp://127.0.0.1:7001
    tls: {mode: strict}
    authorization:
      - name: echo-callers
        service: echo
        rules:
          - {action: allow, from: [client, spiffe://mesh.local/app/batch], methods: [Echo]}
          - {action: deny, from: [batch]}
    routes: [{cluster: app}]
clusters:
  - name: app
    endpoints: [{address: unix:///tmp/app.sock}]
  - name: peers
    tls: {mode: strict}
    endpoints: [{address: 127.0.0.1:7002}]
`

func TestSecurityConfig(t *testing.T) {
	c, err := Parse("s.yaml", []byte(secureBase))
	if err != nil {
		t.Fatal(err)
	}
	if c.Identity.App != "server" {
		t.Errorf("identity.app %q, want node.app", c.Identity.App)
	}
	if c.Listeners[0].TLS.ModeOf() != TLSStrict || c.Clusters[0].TLS.ModeOf() != TLSOff || c.Clusters[1].TLS.ModeOf() != TLSStrict {
		t.Error("modes")
	}
	if r := c.Listeners[0].Authorization[0].Rules[0]; r.Action != ActionAllow || len(r.From) != 2 || r.Methods[0] != "Echo" {
		t.Errorf("%+v", r)
	}
}

func TestSecurityConfigErrors(t *testing.T) {
	for _, tc := range []struct{ old, new, want string }{
		{"tls: {mode: strict}\n    authorization", "tls: {mode: tight}\n    authorization", `listeners[0].tls.mode: "tight" is not strict, permissive or off`},
		{"tls: {mode: strict}\n    authorization", "authorization", "listeners[0].authorization: needs tls.mode strict"},
		{"    tls: {mode: strict}\n    endpoints: [{address: 127", "    tls: {mode: permissive}\n    endpoints: [{address: 127", "clusters[1].tls.mode: permissive is for listeners"},
		{"  - name: app\n", "  - name: app\n    tls: {mode: strict}\n", "clusters[0].endpoints[0].address: a Unix socket endpoint"},
		{"  token_file: /etc/octomesh/token\n", "", "identity.token_file: missing"},
		{"  bundle_file: /etc/octomesh/bundle.pem\n", "", "identity.bundle_file: missing"},
		{"  trust_domain: mesh.local\n", "  trust_domain: Mesh\n", "identity.trust_domain"},
		{"  ca: 127.0.0.1:15011\n", "  ca: 127.0.0.1:15011\n  cert_file: c.pem\n  key_file: k.pem\n", "identity.ca: give either ca"},
		{"action: deny", "action: refuse", `listeners[0].authorization[0].rules[1].action: "refuse" is not allow or deny`},
		{"from: [batch]", "from: []", "listeners[0].authorization[0].rules[1].from: missing"},
		{"from: [batch]", "from: [spiffe://mesh.local/batch]", "listeners[0].authorization[0].rules[1].from[0]"},
		{"from: [batch]", "from: [Batch]", "listeners[0].authorization[0].rules[1].from[0]: app name"},
		{"service: echo", "service: ''", "listeners[0].authorization[0].service: missing"},
		{"name: echo-callers", "name: ''", "listeners[0].authorization[0].name: missing"},
	} {
		y := strings.Replace(secureBase, tc.old, tc.new, 1)
		if y == secureBase {
			t.Fatalf("%q not in the base", tc.old)
		}
		_, err := Parse("s.yaml", []byte(y))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "s.yaml:") {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
	noIdentity := strings.Replace(secureBase, "identity:\n", "unused:\n", 1)
	noIdentity = noIdentity[:strings.Index(noIdentity, "unused:")] + noIdentity[strings.Index(noIdentity, "listeners:"):]
	if _, err := Parse("s.yaml", []byte(noIdentity)); err == nil || !strings.Contains(err.Error(), "listeners[0].tls.mode: mutual TLS needs the identity section") {
		t.Errorf("error %v", err)
	}
}

func TestXDSTLS(t *testing.T) {
	base := "node: {id: n, app: web}\nlisteners: [{name: outbound, address: unix:///tmp/o.sock}]\nxds: {pilot: 127.0.0.1:15010, tls: {mode: strict}}\n"
	if _, err := Parse("x.yaml", []byte(base)); err == nil || !strings.Contains(err.Error(), "xds.tls.mode: mutual TLS needs the identity section") {
		t.Errorf("without identity: %v", err)
	}
	withID := base + "identity: {cert_file: c.pem, key_file: k.pem, bundle_file: b.pem}\n"
	if _, err := Parse("x.yaml", []byte(withID)); err != nil {
		t.Errorf("with identity: %v", err)
	}
	for _, tc := range []struct{ old, new, want string }{
		{"mode: strict", "mode: permissive", "xds.tls.mode: permissive is for listeners; the xds stream either speaks TLS"},
		{"pilot: 127.0.0.1:15010", "pilot: unix:///tmp/p.sock", "xds.tls.mode: Unix sockets"},
	} {
		_, err := Parse("x.yaml", []byte(strings.Replace(withID, tc.old, tc.new, 1)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.new, err, tc.want)
		}
	}
}

// xds.cluster_tls: the mode of the pilot's clusters, strict or off, and
// strict needs an identity.
func TestXDSClusterTLS(t *testing.T) {
	base := "node: {id: n, app: web}\nlisteners: [{name: outbound, address: unix:///tmp/o.sock}]\nxds: {pilot: 127.0.0.1:15010, cluster_tls: {mode: strict}}\n"
	if _, err := Parse("x.yaml", []byte(base)); err == nil || !strings.Contains(err.Error(), "xds.cluster_tls.mode: mutual TLS needs the identity section") {
		t.Errorf("without identity: %v", err)
	}
	withID := base + "identity: {cert_file: c.pem, key_file: k.pem, bundle_file: b.pem}\n"
	cfg, err := Parse("x.yaml", []byte(withID))
	if err != nil || cfg.XDS.ClusterTLS.ModeOf() != TLSStrict {
		t.Fatalf("with identity: %v", err)
	}
	for _, tc := range []struct{ new, want string }{
		{"mode: permissive", "xds.cluster_tls.mode: permissive is for listeners; a cluster either speaks TLS"},
		{"mode: tight", `xds.cluster_tls.mode: "tight" is not strict, permissive or off`},
	} {
		_, err := Parse("x.yaml", []byte(strings.Replace(withID, "mode: strict", tc.new, 1)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.new, err, tc.want)
		}
	}
}

func TestAuthorizationFromPilot(t *testing.T) {
	base := `
node: {id: server-1, app: server}
identity: {cert_file: c.pem, key_file: k.pem, bundle_file: b.pem}
listeners:
  - name: outbound
    address: unix:///tmp/out.sock
  - name: inbound
    address: tcp://127.0.0.1:7001
    tls: {mode: strict}
    authorization:
      - {name: echo-callers, service: echo, rules: [{action: allow, from: [client]}]}
    authorization_from_pilot: [echo, user]
    routes: [{cluster: app}]
clusters: [{name: app, endpoints: [{address: unix:///tmp/app.sock}]}]
xds: {pilot: 127.0.0.1:15010}
`
	c, err := Parse("s.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Listeners[1].AuthorizationFromPilot; len(got) != 2 || got[0] != "echo" || got[1] != "user" {
		t.Errorf("authorization_from_pilot %v", got)
	}
	for _, tc := range []struct{ old, new, want string }{
		{"[echo, user]", "[echo, echo]", `listeners[1].authorization_from_pilot[1]: service "echo" named twice`},
		{"[echo, user]", "[echo, 'a b']", `listeners[1].authorization_from_pilot[1]: name "a b"`},
		{"xds: {pilot: 127.0.0.1:15010}\n", "", "listeners[1].authorization_from_pilot: needs the xds section"},
		{"    tls: {mode: strict}\n    authorization:", "    authorization:", "listeners[1].authorization: needs tls.mode strict"},
	} {
		y := strings.Replace(base, tc.old, tc.new, 1)
		if y == base {
			t.Fatalf("%q not in the base", tc.old)
		}
		if tc.new == "" { // no xds: the outbound listener needs a route
			y = strings.Replace(y, "address: unix:///tmp/out.sock\n", "address: unix:///tmp/out.sock\n    routes: [{cluster: app}]\n", 1)
		}
		if _, err := Parse("s.yaml", []byte(y)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.new, err, tc.want)
		}
	}
	// Without static rule sets, tls is still needed.
	y := strings.Replace(base, "    tls: {mode: strict}\n", "", 1)
	y = y[:strings.Index(y, "    authorization:\n")] + y[strings.Index(y, "    authorization_from_pilot"):]
	if _, err := Parse("s.yaml", []byte(y)); err == nil || !strings.Contains(err.Error(), "listeners[1].authorization_from_pilot: needs tls.mode strict") {
		t.Errorf("without tls: %v", err)
	}
}

func TestMergeAuthorization(t *testing.T) {
	static := []AuthzPolicy{{Name: "a", Service: "echo"}}
	pushed := []AuthzPolicy{{Name: "b", Service: "echo"}, {Name: "a", Service: "user"}, {Name: "c", Service: "user"}}
	merged, shadowed := MergeAuthorization(static, pushed)
	if len(merged) != 2 || merged[0].Name != "a" || merged[1].Name != "c" || strings.Join(shadowed, ",") != "b,a" {
		t.Errorf("merged %+v, shadowed %v", merged, shadowed)
	}
	if merged, shadowed := MergeAuthorization(static, nil); len(merged) != 1 || shadowed != nil {
		t.Errorf("nothing pushed: %+v %v", merged, shadowed)
	}
}
