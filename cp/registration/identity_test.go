package registration

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	api "github.com/octomesh/octomesh/api/ca"
	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/cp/ca/catest"
)

// pki is a CA and the files of the identities it issued, in a temp dir.
type pki struct {
	*catest.Files
	t *testing.T
}

func newPKI(t *testing.T, name string) *pki {
	return &pki{Files: catest.New(t, filepath.Join(t.TempDir(), name)), t: t}
}

// client is a registration client with app's certificate of p, trusting
// the server's of p.
func (p *pki) client(addr, app string) *registry.Client {
	return p.registryClient(addr, p.ClientTLS(app, api.PilotApp, api.MetaApp))
}

// registryClient is a registration client with the TLS config cfg.
func (p *pki) registryClient(addr string, cfg *tls.Config) *registry.Client {
	c, err := registry.NewClientTLS(addr, cfg)
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(c.Close)
	return c
}

// newAuthenticatedAPI serves the API over mutual TLS (ServerTLS with the
// pilot's certificate), as the pilot and Meta do with --http-tls-*.
func newAuthenticatedAPI(t *testing.T, p *pki) (*memStore, *API, string) {
	store := newMemStore()
	a, addr := serveAuthenticated(t, p, store)
	return store, a, addr
}

// serveAuthenticated serves an authenticated API over store.
func serveAuthenticated(t *testing.T, p *pki, store Store) (*API, string) {
	a := New(store, discard)
	a.RequireIdentity("mesh.local")
	cfg := p.ServerTLS(api.PilotApp)
	srv := httptest.NewUnstartedServer(a)
	// As the pilot and Meta serve it (StartTLS would add a certificate of
	// its own, which a client without SNI would get).
	srv.Listener = tls.NewListener(srv.Listener, cfg)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.Start()
	t.Cleanup(srv.Close)
	return a, "https://" + srv.Listener.Addr().String()
}

func echoInstance(app, addr string) registry.Instance {
	return registry.Instance{Service: "echo", App: app, Address: addr, Weight: 1}
}

// An app registers its own instances; another app's registration for the
// service, of another app's instance, with its lease, or of its rules or
// policy is refused with 403 naming the caller, the service and its
// owner, and counted. Reads need only a certificate.
func TestAuthenticatedRegistration(t *testing.T) {
	p := newPKI(t, "mesh")
	store, a, addr := newAuthenticatedAPI(t, p)
	echo, web := p.client(addr, "echo"), p.client(addr, "web")
	ctx := context.Background()

	lease, _, err := echo.Register(ctx, echoInstance("echo", "10.0.0.1:7001"), 10*time.Second)
	if err != nil {
		t.Fatalf("the owner's registration: %v", err)
	}
	refused := uint64(0)
	forbidden := func(what string, err error, want ...string) {
		t.Helper()
		refused++
		if !errors.Is(err, registry.ErrForbidden) {
			t.Fatalf("%s: got %v, want ErrForbidden", what, err)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Fatalf("%s: %q does not name %q", what, err, w)
			}
		}
		if got := a.Stats.Refused.Load(); got != refused {
			t.Fatalf("%s: refused %d, want %d", what, got, refused)
		}
	}
	_, _, err = web.Register(ctx, registry.Instance{Service: "echo", App: "web", Address: "10.0.0.2:7001", Weight: 1}, 10*time.Second)
	forbidden("another app's service", err, "spiffe://mesh.local/app/web", "service echo", `app "echo"`)
	_, _, err = web.Register(ctx, echoInstance("echo", "10.0.0.2:7001"), 10*time.Second)
	forbidden("another app's instance", err, "spiffe://mesh.local/app/web", `app "echo"`)
	forbidden("another app's lease: keepalive", web.KeepAlive(ctx, lease), "spiffe://mesh.local/app/web", "lease")
	forbidden("another app's lease: update", web.Update(ctx, lease, registry.Instance{Service: "web", App: "web", Address: "10.0.0.2:7001", Weight: 1}), "lease")
	forbidden("another app's lease: revoke", web.Revoke(ctx, lease), "lease")
	forbidden("another app's rules", web.PutRoutes(ctx, "echo", nil), `route rules of app "echo"`)
	forbidden("another app's policy", web.PutPolicy(ctx, "echo", registry.ServicePolicy{}), "service echo", `app "echo"`)
	forbidden("another app's policy: delete", web.DeletePolicy(ctx, "echo"), "service echo")
	forbidden("a policy of a service without owner", echo.PutPolicy(ctx, "nobody", registry.ServicePolicy{}), "no owner")
	if n := len(store.instances); n != 1 {
		t.Fatalf("%d instances stored after the refusals, want the owner's 1", n)
	}

	// The owner may do all of it, and anyone with a certificate may read.
	if err := echo.KeepAlive(ctx, lease); err != nil {
		t.Fatalf("the owner's keepalive: %v", err)
	}
	if err := echo.PutRoutes(ctx, "echo", nil); err != nil {
		t.Fatalf("the owner's rules: %v", err)
	}
	if err := echo.PutPolicy(ctx, "echo", registry.ServicePolicy{}); err != nil {
		t.Fatalf("the owner's policy: %v", err)
	}
	if _, _, err := echo.Register(ctx, echoInstance("echo", "10.0.0.3:7001"), 10*time.Second); err != nil {
		t.Fatalf("the owner's second instance: %v", err)
	}
	if _, _, err := web.Register(ctx, registry.Instance{Service: "web", App: "web", Address: "10.0.0.2:7001", Weight: 1}, 10*time.Second); err != nil {
		t.Fatalf("web's own service: %v", err)
	}
	list, err := web.Instances(ctx, "echo")
	if err != nil || len(list) != 2 {
		t.Fatalf("web reads echo's instances: %v %v", list, err)
	}
	// A lease this API did not grant is not found: the client registers again.
	if err := echo.KeepAlive(ctx, 999); !errors.Is(err, registry.ErrLeaseNotFound) {
		t.Fatalf("a lease granted elsewhere: got %v, want ErrLeaseNotFound", err)
	}
	// Keep returns a refusal at once rather than retrying it.
	if _, err := web.Keep(ctx, echoInstance("echo", "10.0.0.4:7001"), 10*time.Second, discard); !errors.Is(err, registry.ErrForbidden) {
		t.Fatalf("Keep of another app's instance: %v", err)
	}
	refused++
	if err := echo.Revoke(ctx, lease); err != nil {
		t.Fatalf("the owner's revoke: %v", err)
	}
	var b bytes.Buffer
	a.WriteStats(&b)
	if want := "registration.refused 10\n"; b.String() != want || refused != 10 {
		t.Fatalf("stats %q, want %q (counted %d)", b.String(), want, refused)
	}
}

// A client without a certificate, with a certificate of another CA, or
// speaking plain HTTP is refused at the handshake: nothing reaches the API.
func TestAuthenticatedAPIRefusesAtTheHandshake(t *testing.T) {
	p := newPKI(t, "mesh")
	store, a, addr := newAuthenticatedAPI(t, p)
	other := newPKI(t, "other")
	ctx := context.Background()
	in := echoInstance("echo", "10.0.0.1:7001")

	// Another CA's certificate for the same identity, trusting the server.
	oc, ok := other.Issue("echo")
	otherCfg, err := api.ClientTLS(oc, ok, p.Bundle, "mesh.local", api.PilotApp)
	if err != nil {
		t.Fatal(err)
	}
	// No certificate, trusting the server.
	noCert := otherCfg.Clone()
	noCert.Certificates, noCert.GetClientCertificate = nil, nil // ClientTLS gives its certificate through GetClientCertificate
	for name, cfg := range map[string]*tls.Config{"another CA's certificate": otherCfg, "no certificate": noCert} {
		_, _, err := p.registryClient(addr, cfg).Register(ctx, in, 10*time.Second)
		if !errors.Is(err, registry.ErrUnavailable) || !strings.Contains(err.Error(), "tls") {
			t.Fatalf("%s: got %v, want the handshake's failure", name, err)
		}
	}
	resp, err := http.Post("http"+strings.TrimPrefix(addr, "https")+"/v1/instances", "application/json", strings.NewReader(`{}`))
	if err == nil {
		if resp.StatusCode != http.StatusBadRequest { // Go's TLS server answers a plain HTTP request 400
			t.Fatalf("plain HTTP: %s", resp.Status)
		}
		resp.Body.Close()
	}
	if n := len(store.instances); n != 0 {
		t.Fatalf("%d instances stored", n)
	}
	if n := a.Stats.Refused.Load(); n != 0 {
		t.Fatalf("refused %d: the API saw a request", n)
	}
	// The server's identity is checked too: a client that wants Meta's
	// does not talk to the pilot.
	metaOnly := p.ClientTLS("echo", api.MetaApp)
	if _, _, err := p.registryClient(addr, metaOnly).Register(ctx, in, 10*time.Second); err == nil || !strings.Contains(err.Error(), "octomesh-pilot") {
		t.Fatalf("a server of another identity: %v", err)
	}
}

// A lease granted by another server over the same store (another pilot,
// or this one before a restart) is renewed and revoked by its app, whose
// instances it holds, and by no other.
func TestAuthenticatedLeaseOfAnotherServer(t *testing.T) {
	p := newPKI(t, "mesh")
	store, _, addr1 := newAuthenticatedAPI(t, p)
	a2, addr2 := serveAuthenticated(t, p, store)
	ctx := context.Background()
	lease, _, err := p.client(addr1, "echo").Register(ctx, echoInstance("echo", "10.0.0.1:7001"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	web, echo := p.client(addr2, "web"), p.client(addr2, "echo")
	if err := web.KeepAlive(ctx, lease); !errors.Is(err, registry.ErrForbidden) || !strings.Contains(err.Error(), `instances of app "echo"`) {
		t.Fatalf("web renews echo's lease at the other server: %v", err)
	}
	if err := web.Revoke(ctx, lease); !errors.Is(err, registry.ErrForbidden) {
		t.Fatalf("web revokes echo's lease at the other server: %v", err)
	}
	if n := a2.Stats.Refused.Load(); n != 2 {
		t.Fatalf("refused %d, want 2", n)
	}
	if err := echo.KeepAlive(ctx, lease); err != nil {
		t.Fatalf("echo renews its lease at the other server: %v", err)
	}
	if err := echo.Revoke(ctx, lease); err != nil {
		t.Fatalf("echo revokes its lease at the other server: %v", err)
	}
	if err := echo.KeepAlive(ctx, lease); !errors.Is(err, registry.ErrLeaseNotFound) {
		t.Fatalf("a revoked lease: %v", err)
	}
}
