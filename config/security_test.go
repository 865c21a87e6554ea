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
