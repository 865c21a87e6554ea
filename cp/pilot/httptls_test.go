package pilot

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

	api "github.com/octomesh/octomesh/api/ca"
	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/cp/ca/catest"
)

// With HTTPTLS, the pilot's registration API is authenticated: the owner
// app registers, another app's registration of its service is refused and
// counted (/stats, /metrics), and a client without a certificate is
// refused at the handshake.
func TestHTTPOverMutualTLS(t *testing.T) {
	dir := t.TempDir()
	pki := catest.New(t, dir)
	serverTLS := pki.ServerTLS(PilotApp)
	if _, err := Start(Options{XDSAddress: "127.0.0.1:0", HTTPAddress: "127.0.0.1:0", DataDir: filepath.Join(dir, "etcd0"), HTTPTLS: serverTLS}); err == nil {
		t.Fatal("HTTPTLS without a trust domain was accepted")
	}
	p, err := Start(Options{XDSAddress: "127.0.0.1:0", HTTPAddress: "127.0.0.1:0", DataDir: filepath.Join(dir, "etcd"),
		HTTPTLS: serverTLS, TrustDomain: "mesh.local", Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	addr := p.Addrs().HTTP
	clientTLS := func(app string) *tls.Config { return pki.ClientTLS(app, api.PilotApp) }
	reg := func(cfg *tls.Config) *registry.Client {
		r, err := registry.NewClientTLS(addr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Close)
		return r
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	echo := registry.Instance{Service: "echo", App: "echo", Address: "10.0.0.1:7001", Weight: 1}
	if _, _, err := reg(clientTLS("echo")).Register(ctx, echo, 10*time.Second); err != nil {
		t.Fatalf("the owner's registration: %v", err)
	}
	_, _, err = reg(clientTLS("web")).Register(ctx, registry.Instance{Service: "echo", App: "web", Address: "10.0.0.2:7001", Weight: 1}, 10*time.Second)
	if !errors.Is(err, registry.ErrForbidden) || !strings.Contains(err.Error(), "spiffe://mesh.local/app/web") {
		t.Fatalf("another app's registration: %v", err)
	}
	noCert := clientTLS("web")
	noCert.Certificates, noCert.GetClientCertificate = nil, nil // ClientTLS gives its certificate through GetClientCertificate
	if _, _, err := reg(noCert).Register(ctx, echo, 10*time.Second); !errors.Is(err, registry.ErrUnavailable) {
		t.Fatalf("without a certificate: %v", err)
	}
	list, err := reg(clientTLS("web")).Instances(ctx, "echo")
	if err != nil || len(list) != 1 || list[0].App != "echo" {
		t.Fatalf("echo's instances: %v %v", list, err)
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
	if s := get("/metrics"); !strings.Contains(s, "# TYPE octomesh_pilot_registration_refused_total counter\noctomesh_pilot_registration_refused_total 1\n") {
		t.Fatalf("/metrics:\n%s", s)
	}
}
