package meta

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	caapi "github.com/octomesh/octomesh/api/ca"
	api "github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/cp/ca/catest"
)

// With HTTPTLS, Meta's port is mutual TLS: a sidecar's owner look-up and
// an app's registration go through with their certificates, a client
// without one does not get a TCP request through, and a registration of
// another app's service is refused and counted in /stats and /metrics.
func TestMetaOverMutualTLS(t *testing.T) {
	dir := t.TempDir()
	pki := catest.New(t, dir)
	serverTLS := pki.ServerTLS(caapi.MetaApp)
	m, err := Start(Options{HTTPAddress: "127.0.0.1:0", DataDir: filepath.Join(dir, "etcd"), HTTPTLS: serverTLS, TrustDomain: "mesh.local",
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	addr := m.Addrs().HTTP
	clientTLS := func(app string) *tls.Config { return pki.ClientTLS(app, caapi.MetaApp) }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// A sidecar's look-up reaches Meta's handler (no pilot is up: 503).
	web, err := api.NewClientTLS(addr, clientTLS("web"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(web.Close)
	if _, err := web.Owner(ctx, "web", "", 0); err == nil || !strings.Contains(err.Error(), "no pilot") {
		t.Fatalf("look-up with a certificate: %v", err)
	}
	// Without a certificate: refused at the handshake.
	noCert := clientTLS("web")
	noCert.Certificates, noCert.GetClientCertificate = nil, nil // ClientTLS gives its certificate through GetClientCertificate
	anon, err := api.NewClientTLS(addr, noCert)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(anon.Close)
	if _, err := anon.Owner(ctx, "web", "", 0); err == nil || strings.Contains(err.Error(), "no pilot") {
		t.Fatalf("look-up without a certificate: %v", err)
	}

	// Registrations: the owner's goes through, another app's is refused.
	reg := func(app string) *registry.Client {
		r, err := registry.NewClientTLS(addr, clientTLS(app))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Close)
		return r
	}
	if _, _, err := reg("echo").Register(ctx, registry.Instance{Service: "echo", App: "echo", Address: "10.0.0.1:7001", Weight: 1}, 10*time.Second); err != nil {
		t.Fatalf("the owner's registration: %v", err)
	}
	_, _, err = reg("web").Register(ctx, registry.Instance{Service: "echo", App: "web", Address: "10.0.0.2:7001", Weight: 1}, 10*time.Second)
	if !errors.Is(err, registry.ErrForbidden) {
		t.Fatalf("another app's registration: %v", err)
	}
	get := func(path string) string {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS("ops")}}
		defer hc.CloseIdleConnections()
		resp, err := hc.Get("https://" + strings.TrimPrefix(addr, "tcp://") + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if s := get("/stats"); !strings.Contains(s, "registration.refused 1\n") {
		t.Fatalf("/stats:\n%s", s)
	}
	if s := get("/metrics"); !strings.Contains(s, "# TYPE octomesh_meta_registration_refused_total counter\noctomesh_meta_registration_refused_total 1\n") {
		t.Fatalf("/metrics:\n%s", s)
	}
}
