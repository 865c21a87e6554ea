package server

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/gopkg/protocol/thrift"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/config"
)

// Rule sets pushed to an inbound listener (ApplyAuthorization) join its
// static ones, which win on a clash of service or name; pushing none
// leaves the static ones alone.
func TestApplyAuthorization(t *testing.T) {
	m := startCA(t, time.Hour)
	dir := sockDir(t)
	be := newBackend(t, dir)
	b := sidecar(t, m.identity("node-b", "server")+fmt.Sprintf(`
listeners:
  - name: inbound
    address: tcp://127.0.0.1:0
    tls: {mode: strict}
    authorization:
      - {name: echo-callers, service: echo, rules: [{action: allow, from: [client]}]}
    routes: [{cluster: app}]
  - name: local
    address: unix://%s
    routes: [{cluster: app}]
clusters:
  - name: app
    request_timeout: 5s
    endpoints: [{address: "unix://%s"}]
`, filepath.Join(dir, "local.sock"), be.addr))
	peer := strings.TrimPrefix(b.ListenerAddr("inbound"), "tcp://")
	client := func(app string) net.Conn {
		out := filepath.Join(sockDir(t), "out.sock")
		sidecar(t, m.identity("node-a", app)+fmt.Sprintf(`
listeners: [{name: outbound, address: "unix://%s", routes: [{cluster: peer}]}]
clusters: [{name: peer, request_timeout: 5s, tls: {mode: strict}, endpoints: [{address: %q}]}]
`, out, peer))
		return dial(t, out)
	}
	cl, batch := client("client"), client("batch")
	seq := int32(0)
	denied := func(c net.Conn, service string) string {
		seq++
		r := call(t, c, request(service, "Echo", seq, thrift.CALL, []byte("hi")))
		if r.meshError == "" {
			return ""
		}
		if r.meshError != codec.ErrorPermissionDenied {
			t.Fatalf("call to %s: %+v", service, r)
		}
		return r.body
	}

	pushed := []config.AuthzPolicy{
		{Name: "pushed-echo", Service: "echo", Rules: []config.AuthzRule{{Action: config.ActionDeny, From: []string{"client"}}}},
		{Name: "user-callers", Service: "user", Rules: []config.AuthzRule{{Action: config.ActionDeny, From: []string{"batch"}}}},
	}
	if err := b.ApplyAuthorization("inbound", pushed); err != nil {
		t.Fatal(err)
	}
	if msg := denied(cl, "echo"); msg != "" {
		t.Errorf("client to echo (the static rule set wins over pushed-echo): %s", msg)
	}
	if msg := denied(batch, "echo"); !strings.Contains(msg, "rule set echo-callers") {
		t.Errorf("batch to echo: %q", msg)
	}
	if msg := denied(batch, "user"); !strings.Contains(msg, "caller spiffe://mesh.local/app/batch") || !strings.Contains(msg, "rule set user-callers") {
		t.Errorf("batch to user: %q", msg)
	}
	if msg := denied(cl, "user"); msg != "" {
		t.Errorf("client to user: %s", msg)
	}
	if cfg, _ := b.activeConfig(); len(cfg.Listeners[0].Authorization) != 2 || cfg.Listeners[0].Authorization[1].Name != "user-callers" {
		t.Errorf("config_dump's rule sets %+v, want echo-callers and user-callers", cfg.Listeners[0].Authorization)
	}

	// A bad rule set changes nothing.
	bad := []config.AuthzPolicy{{Name: "user-callers", Service: "user", Rules: []config.AuthzRule{{Action: "permit", From: []string{"batch"}}}}}
	if err := b.ApplyAuthorization("inbound", bad); err == nil || !strings.Contains(err.Error(), `"permit" is not allow or deny`) {
		t.Errorf("a bad rule set: %v", err)
	}
	if msg := denied(batch, "user"); msg == "" {
		t.Error("a refused update lifted the rules")
	}
	if err := b.ApplyAuthorization("local", pushed); err == nil || !strings.Contains(err.Error(), "Unix socket") {
		t.Errorf("the app-facing listener: %v", err)
	}
	if err := b.ApplyAuthorization("nope", pushed); err == nil {
		t.Error("an unknown listener took rules")
	}

	// None pushed: user is open again; echo keeps its static rules.
	if err := b.ApplyAuthorization("inbound", nil); err != nil {
		t.Fatal(err)
	}
	if msg := denied(batch, "user"); msg != "" {
		t.Errorf("batch to user with nothing pushed: %s", msg)
	}
	if msg := denied(batch, "echo"); msg == "" {
		t.Error("the static rule set went with the pushed ones")
	}
}
