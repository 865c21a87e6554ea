package scanner

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	api "github.com/octomesh/octomesh/api/ca"
	"github.com/octomesh/octomesh/api/scanner"
	"github.com/octomesh/octomesh/cp/ca/catest"
)

// With mutual TLS on their ports, two scanners still confirm each other's
// findings (a mark names both), a pilot's check-now is served, and a
// check-now from an app, a confirm from a pilot or a caller without a
// certificate are refused (the first two counted).
func TestScannersOverMutualTLS(t *testing.T) {
	dir := t.TempDir()
	pki := catest.New(t, dir)
	bundle := pki.Bundle
	sc, sk := pki.Issue(api.ScannerApp)
	clientOf := func(app string) *tls.Config { return pki.ClientTLS(app, api.ScannerApp) }
	withTLS := func(o *Options) {
		var err error
		if o.HTTPTLS, err = api.ServerTLS(sc, sk, bundle, "mesh.local"); err != nil {
			t.Fatal(err)
		}
		if o.ClientTLS, err = api.ClientTLS(sc, sk, bundle, "mesh.local", api.ScannerApp); err != nil {
			t.Fatal(err)
		}
		o.TrustDomain = "mesh.local"
	}

	st := openStore(t)
	m := watchMarks(t, st)
	f := newFakeSidecar(t)
	register(t, st, "echo", f.addr(), "z1")
	s1 := startScanner(t, st, "s1", "z1", withTLS)
	s2 := startScanner(t, st, "s2", "z1", withTLS)
	waitFor(t, "one owner of the address", func() bool { return owned(s1, s2) == 1 && f.Asked.Load() > 0 })
	f.SetMode(answerFail)
	waitFor(t, "echo marked down, confirmed over mutual TLS", func() bool { _, ok := m.get("echo", f.addr()); return ok })
	if mk, _ := m.get("echo", f.addr()); mk.Scanner == "" || mk.Confirmer == "" || mk.Scanner == mk.Confirmer {
		t.Fatalf("mark %+v: want two scanners", mk)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pilot := scanner.NewClientTLS(5*time.Second, clientOf(api.PilotApp))
	defer pilot.Close()
	if err := pilot.CheckNow(ctx, s1.Addr(), f.addr()); err != nil {
		t.Fatalf("a pilot's check-now: %v", err)
	}
	refused := s1.Stats.IdentityRefused.Load()
	web := scanner.NewClientTLS(5*time.Second, clientOf("web"))
	defer web.Close()
	if err := web.CheckNow(ctx, s1.Addr(), f.addr()); err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "spiffe://mesh.local/app/web") {
		t.Fatalf("an app's check-now: %v", err)
	}
	if _, err := pilot.Confirm(ctx, s1.Addr(), scanner.ConfirmRequest{Address: f.addr()}); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a pilot's confirm: %v", err)
	}
	if got := s1.Stats.IdentityRefused.Load() - refused; got != 2 {
		t.Fatalf("identity_refused grew by %d, want 2", got)
	}
	noCert := clientOf("web")
	noCert.Certificates, noCert.GetClientCertificate = nil, nil // ClientTLS gives its certificate through GetClientCertificate
	anon := scanner.NewClientTLS(5*time.Second, noCert)
	defer anon.Close()
	if err := anon.CheckNow(ctx, s1.Addr(), f.addr()); err == nil || strings.Contains(err.Error(), "403") {
		t.Fatalf("without a certificate: %v", err)
	}
	plain := scanner.NewClient(5 * time.Second)
	defer plain.Close()
	if err := plain.CheckNow(ctx, s1.Addr(), f.addr()); err == nil {
		t.Fatal("plain HTTP was served")
	}
}
