package server

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/gopkg/protocol/thrift"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/cp/ca"
	"github.com/octomesh/octomesh/cp/ca/catest"
)

// meshCA is a CA served over HTTPS on a loopback port, with a token file
// per node and the bundle file sidecars start from.
type meshCA struct {
	ca     *ca.CA
	addr   string
	bundle string
	tokens map[string]string // node -> token file
}

func startCA(t *testing.T, lifetime time.Duration) *meshCA {
	t.Helper()
	dir := t.TempDir()
	grants := []ca.Grant{
		{Node: "node-a", Token: "token-of-node-a-0123456789", Apps: []string{"client", "batch"}},
		{Node: "node-b", Token: "token-of-node-b-0123456789", Apps: []string{"server"}},
	}
	pki := catest.NewWith(t, dir, ca.Options{Tokens: grants, Lifetime: lifetime})
	c := pki.CA
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{MinVersion: tls.VersionTLS13,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.ServingCertificate() }})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	m := &meshCA{ca: c, addr: ln.Addr().String(), bundle: pki.Bundle, tokens: map[string]string{}}
	for _, g := range grants {
		m.tokens[g.Node] = pki.Write(g.Node+".token", []byte(g.Token+"\n"))
	}
	return m
}

func (m *meshCA) identity(node, app string) string {
	return fmt.Sprintf(`
identity:
  ca: %s
  token_file: %s
  trust_domain: mesh.local
  app: %s
  bundle_file: %s
`, m.addr, m.tokens[node], app, m.bundle)
}

// serverSide is sidecar B: a strict mTLS inbound port whose echo service
// only the client app may call, in front of a backend app.
func serverSide(t *testing.T, m *meshCA, mode string) (*Server, *backend) {
	dir := sockDir(t)
	be := newBackend(t, dir)
	s := sidecar(t, m.identity("node-b", "server")+fmt.Sprintf(`
listeners:
  - name: inbound
    address: tcp://127.0.0.1:0
    tls: {mode: %s}
    authorization:
      - name: echo-callers
        service: echo
        rules:
          - {action: allow, from: [client]}
    routes: [{service: echo, cluster: app}]
clusters:
  - name: app
    request_timeout: 5s
    endpoints: [{address: "unix://%s"}]
`, mode, be.addr))
	return s, be
}

// clientSide is a sidecar A of app, calling B over mTLS; it returns its
// outbound socket.
func clientSide(t *testing.T, m *meshCA, app, peer string) (*Server, string) {
	out := filepath.Join(sockDir(t), "out.sock")
	s := sidecar(t, m.identity("node-a", app)+fmt.Sprintf(`
listeners:
  - name: outbound
    address: unix://%s
    routes: [{service: echo, cluster: peer}]
clusters:
  - name: peer
    request_timeout: 5s
    tls: {mode: strict}
    endpoints: [{address: "%s"}]
`, out, strings.TrimPrefix(peer, "tcp://")))
	return s, out
}

// Two caller apps through two sidecars with strict mTLS: the client app is
// allowed, the batch app is denied by name, whatever its header says.
func TestMutualTLSAndAuthorizationBetweenSidecars(t *testing.T) {
	m := startCA(t, time.Hour)
	b, _ := serverSide(t, m, "strict")
	peer := b.ListenerAddr("inbound")
	_, clientOut := clientSide(t, m, "client", peer)
	_, batchOut := clientSide(t, m, "batch", peer)

	c := dial(t, clientOut)
	for i := range 20 {
		r := call(t, c, request("echo", "Echo", int32(i+1), thrift.CALL, []byte("hello")))
		if r.meshError != "" || r.body != "hello" {
			t.Fatalf("call %d from the client app: %+v", i, r)
		}
	}
	bc := dial(t, batchOut)
	r := call(t, bc, request("echo", "Echo", 7, thrift.CALL, []byte("hello"), codec.StrKV{Key: "from", Value: "client"}))
	if r.meshError != codec.ErrorPermissionDenied || r.seq != 7 {
		t.Fatalf("the batch app got %+v, want permission_denied", r)
	}
	for _, want := range []string{"permission denied", "spiffe://mesh.local/app/batch", "rule set echo-callers"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("message %q lacks %q", r.body, want)
		}
	}
	if got := statValue(b, "authz.denied"); got != 1 {
		t.Errorf("authz.denied %d", got)
	}
	if got := statValue(b, "authz.allowed"); got != 20 {
		t.Errorf("authz.allowed %d", got)
	}
	if got := statValue(b, "tls.handshakes"); got < 2 {
		t.Errorf("tls.handshakes %d", got)
	}
	if got := statValue(b, "tls.plain_accepted"); got != 0 {
		t.Errorf("a strict listener served %d plain connections", got)
	}
	// A plain peer (no TLS) is refused at the handshake and counted.
	nc, err := net.Dial("tcp", strings.TrimPrefix(peer, "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_, _ = nc.Write(request("echo", "Echo", 1, thrift.CALL, nil))
	if err := eventually(func() bool { return statValue(b, "tls.handshake_failures.not_tls") == 1 }); err != nil {
		t.Error("a plain peer of a strict listener was not counted")
	}
}

// Both sidecars renew their certificates (lifetime 3s: every 1.2-1.5s)
// while 50 callers keep calling: no call fails, and a sidecar started after
// the first certificates expired still connects (B serves its renewed one).
func TestRotationLosesNoCall(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for certificates to renew")
	}
	const lifetime = 3 * time.Second
	m := startCA(t, lifetime)
	b, _ := serverSide(t, m, "strict")
	peer := b.ListenerAddr("inbound")
	a, out := clientSide(t, m, "client", peer)
	firstB, firstA := b.Identity().Leaf(), a.Identity().Leaf()

	const callers = 50
	var calls, failures atomic.Int64
	var firstFailure atomic.Pointer[string]
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("unix", out)
			if err != nil {
				failures.Add(1)
				return
			}
			defer c.Close()
			buf := make([]byte, 4096)
			for seq := int32(1); ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf("c%d-%d", i, seq)
				if _, err := c.Write(request("echo", "Echo", seq, thrift.CALL, []byte(body))); err != nil {
					failures.Add(1)
					return
				}
				f, err := readFrame(c, buf)
				if err != nil {
					failures.Add(1)
					return
				}
				r := parseReply(t, f)
				calls.Add(1)
				if r.meshError != "" || r.body != body {
					failures.Add(1)
					msg := fmt.Sprintf("%+v", r)
					firstFailure.CompareAndSwap(nil, &msg)
				}
			}
		}()
	}
	renewed := func() bool { return a.Identity().Renewals.Load() >= 2 && b.Identity().Renewals.Load() >= 2 }
	err := eventually(renewed)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("renewals: a %d, b %d", a.Identity().Renewals.Load(), b.Identity().Renewals.Load())
	}
	if f := failures.Load(); f != 0 {
		t.Fatalf("%d of %d calls failed across renewals; first: %v", f, calls.Load(), *firstFailure.Load())
	}
	if calls.Load() < callers {
		t.Fatalf("only %d calls", calls.Load())
	}
	if b.Identity().Leaf().Equal(firstB) || a.Identity().Leaf().Equal(firstA) {
		t.Fatal("a certificate was not replaced")
	}
	t.Logf("%d calls from %d callers, renewals a=%d b=%d, 0 failures", calls.Load(), callers, a.Identity().Renewals.Load(), b.Identity().Renewals.Load())

	// The first certificates have expired by now: a new sidecar's
	// handshake succeeds only against B's renewed one.
	if err := eventually(func() bool { return time.Now().After(firstB.NotAfter) }); err != nil {
		t.Fatal(err)
	}
	_, out2 := clientSide(t, m, "client", peer)
	c := dial(t, out2)
	if r := call(t, c, request("echo", "Echo", 1, thrift.CALL, []byte("late"))); r.meshError != "" || r.body != "late" {
		t.Fatalf("a sidecar started after renewal: %+v", r)
	}
}

// A permissive inbound serves a plain sidecar and an mTLS one at once,
// counted apart; the plain caller has no identity, so the allow rule
// refuses it.
func TestPermissiveServesPlainAndTLSSidecars(t *testing.T) {
	m := startCA(t, time.Hour)
	b, _ := serverSide(t, m, "permissive")
	peer := b.ListenerAddr("inbound")
	_, tlsOut := clientSide(t, m, "client", peer)
	plainOut := filepath.Join(sockDir(t), "plain.sock")
	sidecar(t, fmt.Sprintf(`
listeners:
  - name: outbound
    address: unix://%s
    routes: [{service: echo, cluster: peer}]
clusters:
  - name: peer
    endpoints: [{address: "%s"}]
`, plainOut, strings.TrimPrefix(peer, "tcp://")))
	if r := call(t, dial(t, tlsOut), request("echo", "Echo", 1, thrift.CALL, []byte("x"))); r.meshError != "" {
		t.Fatalf("mTLS caller: %+v", r)
	}
	r := call(t, dial(t, plainOut), request("echo", "Echo", 2, thrift.CALL, []byte("x")))
	if r.meshError != codec.ErrorPermissionDenied || !strings.Contains(r.body, "no certificate") {
		t.Fatalf("plain caller: %+v", r)
	}
	if statValue(b, "tls.handshakes") < 1 || statValue(b, "tls.plain_accepted") < 1 {
		t.Errorf("handshakes %d, plain %d", statValue(b, "tls.handshakes"), statValue(b, "tls.plain_accepted"))
	}
}
